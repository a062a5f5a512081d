import type { MessagePort } from 'node:worker_threads';
import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type {
  HandoverStats,
  JoinRequest,
  JoinResponse,
  MediaState,
  MediaStateRequest,
  ParticipantRef,
  PublisherOfferRequest,
  SfuDump,
  SfuEvent,
  SubscribeRequest,
  SubscribeResponse,
  SubscriberAnswerRequest,
  ViewerEndReason,
} from '../../protocol/sfu-api.ts';
import {
  type AnsweredTrack,
  createPublisherAnswer,
  createSubscriberOffer,
  EXTENSION_URI,
  FORWARDED_EXTENSIONS,
  findCapability,
  type OfferedTrack,
  parseRemoteDescription,
  parseSubscriberAnswer,
  remoteTransportParameters,
  type SubscriberSdpState,
} from '../../transport/negotiation/index.ts';
import type { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import type { WorkerOperation } from '../worker-protocol.ts';
import type { ActiveSpeaker } from './active-speaker.ts';
import { ActiveSpeakerMonitor } from './active-speaker-monitor.ts';
import { ConnectionQualityMonitor } from './connection-quality-monitor.ts';
import { DataChannelRelay } from './data-channels.ts';
import { EgressTaps, TapSink } from './egress-tap.ts';
import { Publisher } from './publisher.ts';
import {
  describeTrack,
  PeerLink,
  type PeerMessage,
  type RelayedPublisher,
  type RelayedTrack,
  RelaySink,
  RemoteUpTrack,
} from './relay.ts';
import { applyForwarding, inspectRoomPart, type RoomPart } from './room-inspection.ts';
import { SubscriberBudget } from './subscriber-budget.ts';
import { Subscription } from './subscription.ts';
import type { UpTrack } from './up-track.ts';
import { answerViewer, switchViewer } from './viewer.ts';
import type { WorkerEngine } from './worker-host.ts';

/** A publisher homed on another worker, seen here by subscribers homed here (relay.ts). */
interface RemotePublisher {
  participantId: ParticipantId;
  fromWorker: number;
  mediaState: MediaState;
  tracks: Map<string, RemoteUpTrack>;
}

/** A publisher homed here, relayed to one other worker: one sink per track, the wishes made from there. */
interface Export {
  sinks: Map<UpTrack, RelaySink>;
  /** `${relayId}/${subscriberId}` of the Dynacast wishes set from the other worker. */
  wishes: Set<string>;
}

/** What a subscription forwards: a local Publisher or a RemotePublisher. */
interface Source {
  mediaState: MediaState;
  tracks: ReadonlyMap<string, UpTrack>;
}

/** A subscribe request; `remote` when the target is homed on another worker (the pool adds it). */
interface SubscribeArgs extends SubscribeRequest {
  remote?: { fromWorker: number; publisher: RelayedPublisher } | undefined;
}

/**
 * A subscription and its negotiation: `sdp` is what the server offered; undefined for a viewer
 * (WHEP), which answered its own offer. `follow`: a viewer following the active speaker, with the
 * tracks it was answered (what another publisher must send to be switched to).
 */
interface SubscriptionEntry {
  subscription: Subscription;
  sdp: SubscriberSdpState | undefined;
  follow?: AnsweredTrack[] | undefined;
}

/** A subscription's first negotiation: the reply, and the offer's state or the viewer's answered tracks. */
interface Negotiated {
  reply: SubscribeResponse;
  sdp: SubscriberSdpState | undefined;
  answered?: AnsweredTrack[] | undefined;
}

interface Room {
  publishers: Map<ParticipantId, Publisher>;
  /** key: `${subscriberId}>${targetId}` (subscriptionKey). */
  subscriptions: Map<string, SubscriptionEntry>;
  /** Proxies of publishers homed on other workers that subscribers here forward. */
  remotes: Map<ParticipantId, RemotePublisher>;
  /** Publishers homed here that are relayed to other workers: publisher → worker index → export. */
  exports: Map<ParticipantId, Map<number, Export>>;
  /** Each subscriber's downlink, shared by its subscriptions (one allocation across them). */
  budgets: Map<ParticipantId, SubscriberBudget>;
  /** Active speakers and connection quality, reported as room events; closed with the room. */
  speakers: ActiveSpeakerMonitor;
  quality: ConnectionQualityMonitor;
}

/**
 * The SFU inside one media worker: rooms of publishers and subscriptions on the worker's UDP
 * endpoint. Implements the SfuApi operations for the rooms pinned to this worker.
 */
export class MediaEngine implements WorkerEngine {
  readonly #endpoint: UdpEndpoint;
  readonly #clock: Clock;
  readonly #nodeId: string;
  readonly #emit: (roomId: RoomId, event: SfuEvent) => void;
  readonly #rooms = new Map<RoomId, Room>();
  /** Data channels: track_quality both ways and the room data relay (data-channels.ts). */
  readonly #data = new DataChannelRelay();
  /** Egress taps on publishers homed here (egress-tap.ts). */
  readonly #taps = new EgressTaps((roomId, publisherId, up) => this.#describe(roomId, publisherId, up));
  /** Channels to the other workers of the pool, by worker index. */
  readonly #links = new Map<number, PeerLink>();
  /** Relay ids of local published tracks that were described to another worker. */
  readonly #relayIds = new WeakMap<UpTrack, number>();
  readonly #outgoing = new Map<number, { roomId: RoomId; publisherId: ParticipantId; up: UpTrack }>();
  #nextRelayId = 1;
  /** Hand-over counters of links already closed (dump() adds the live ones). */
  readonly #retired: HandoverStats = {
    batchesSent: 0,
    packetsSent: 0,
    batchesReceived: 0,
    packetsReceived: 0,
    malformed: 0,
    unknownTrack: 0,
  };

  constructor(options: {
    endpoint: UdpEndpoint;
    clock: Clock;
    nodeId: string;
    emit: (roomId: RoomId, event: SfuEvent) => void;
  }) {
    this.#endpoint = options.endpoint;
    this.#clock = options.clock;
    this.#nodeId = options.nodeId;
    this.#emit = options.emit;
  }

  async run(op: WorkerOperation, args: unknown): Promise<unknown> {
    switch (op) {
      case 'join':
        return this.join(args as JoinRequest);
      case 'subscribe':
        return this.subscribe(args as SubscribeArgs);
      case 'exportPublisher':
        return this.exportPublisher(args as ParticipantRef);
      case 'setSubscriberAnswer':
        return this.setSubscriberAnswer(args as SubscriberAnswerRequest);
      case 'renegotiatePublisher':
        return this.renegotiatePublisher(args as PublisherOfferRequest);
      case 'setMediaState':
        return this.setMediaState(args as MediaStateRequest);
      case 'leave':
        return this.leave(args as ParticipantRef);
      case 'inspectRoom':
        return this.inspectRoom(args as { roomId: RoomId });
      // ICE-lite: the server learns the peer's address from its checks; trickled candidates
      // carry nothing we need (RFC 8445 §2.5).
      case 'addPublisherCandidate':
      case 'addSubscriberCandidate':
        return undefined;
    }
  }

  join(req: JoinRequest): JoinResponse {
    const offer = parseRemoteDescription(req.sdp);
    const room = this.#room(req.roomId);
    this.#closePublisher(req.roomId, room, req.participantId);
    const transport = this.#endpoint.createTransport();
    const answer = createPublisherAnswer(offer, transport.localParameters);
    transport.setRemoteParameters(remoteTransportParameters(offer));
    const publisher = new Publisher({
      participantId: req.participantId,
      transport,
      clock: this.#clock,
      mediaState: req.mediaState,
      totalTracks: req.totalTracks,
      canPublishData: req.canPublishData,
      hidden: req.hidden,
      onReady: () =>
        this.#emit(req.roomId, {
          type: 'publisherReady',
          participantId: req.participantId,
          nodeId: this.#nodeId,
          isMigrate: req.isMigrate,
        }),
    });
    publisher.addTracks(answer.tracks);
    transport.onStateChange = (state, reason) => {
      if (state !== 'closed' || reason === 'closed') return;
      // The peer stopped answering (consent) or DTLS failed: the room must hear of it.
      this.#closePublisher(req.roomId, room, req.participantId);
      this.#dropRoomIfEmpty(req.roomId, room);
      this.#emit(req.roomId, {
        type: 'participantLost',
        participantId: req.participantId,
        reason: 'consent_timeout',
      });
    };
    room.publishers.set(req.participantId, publisher);
    if (answer.dataChannels) this.#data.attachPublisher(room, publisher, answer.dataChannels);
    return { sdp: answer.sdp, isRecording: false };
  }

  subscribe(req: SubscribeArgs): SubscribeResponse {
    const room = this.#room(req.roomId);
    const publisher: Source | undefined = req.remote
      ? this.#remotePublisher(req.roomId, room, req.remote.fromWorker, req.remote.publisher)
      : room.publishers.get(req.targetId);
    if (!publisher) {
      this.#dropRoomIfEmpty(req.roomId, room);
      throw new SfuError('not_found', `participant ${req.targetId} publishes nothing in room ${req.roomId}`);
    }
    const key = `${req.participantId}>${req.targetId}`;
    room.subscriptions.get(key)?.subscription.close();
    const transport = this.#endpoint.createTransport();
    let subscription: Subscription | undefined;
    let made: Negotiated;
    try {
      made = this.#negotiateSubscription(req, publisher, transport, (transportCcId) => {
        subscription = this.#newSubscription(room, req, publisher, transport, transportCcId);
        return subscription;
      });
    } catch (err) {
      if (subscription) subscription.close();
      else transport.close();
      room.subscriptions.delete(key);
      this.#releaseRemote(req.roomId, room, req.targetId);
      this.#dropRoomIfEmpty(req.roomId, room);
      throw err;
    }
    const created = subscription!;
    const follow = req.followActiveSpeaker ? made.answered : undefined;
    const entry: SubscriptionEntry = { subscription: created, sdp: made.sdp, follow };
    room.subscriptions.set(key, entry);
    transport.onStateChange = (state, reason) => {
      if (state !== 'closed' || reason === 'closed') return;
      // The subscriber stopped answering (consent) or DTLS failed: release its down tracks now.
      // Its publisher connection, if it is gone too, reports participantLost on its own.
      const current = subscriptionKey(created);
      if (room.subscriptions.get(current) !== entry) return;
      created.close();
      room.subscriptions.delete(current);
      if (!entry.sdp) this.#viewerEnded(req.roomId, created, 'consent_timeout');
      this.#releaseRemote(req.roomId, room, created.targetId);
      this.#dropRoomIfEmpty(req.roomId, room);
    };
    if (follow) this.#follow(req.roomId, room, entry, room.speakers.speakers);
    return made.reply;
  }

  /**
   * The server's offer of every track of `publisher`, or (the request carries the subscriber's
   * offer: a WHEP viewer) the answer to it, which sets the remote parameters at once.
   */
  #negotiateSubscription(
    req: SubscribeArgs,
    publisher: Source,
    transport: WebRtcTransport,
    subscribe: (transportCcId?: number) => Subscription,
  ): Negotiated {
    const videoCodec = videoCodecOf(publisher);
    if (req.offer !== undefined) {
      const offer = parseRemoteDescription(req.offer);
      const answer = answerViewer({
        transport,
        targetId: req.targetId,
        offer,
        tracks: publisher.tracks.values(),
        mediaState: publisher.mediaState,
        subscribe,
      });
      transport.setRemoteParameters(remoteTransportParameters(offer));
      return {
        reply: { offer: '', answer: answer.sdp, videoCodec },
        sdp: undefined,
        answered: answer.answered,
      };
    }
    const subscription = subscribe();
    const tracks = [...publisher.tracks.values()].map((up) => this.#offerTrack(subscription, up));
    const offer = createSubscriberOffer({ local: transport.localParameters, tracks, dataChannels: true });
    return { reply: { offer: offer.sdp, videoCodec }, sdp: offer.state };
  }

  #newSubscription(
    room: Room,
    req: SubscribeArgs,
    publisher: Source,
    transport: WebRtcTransport,
    transportCcId: number | undefined,
  ): Subscription {
    const subscription = new Subscription({
      subscriberId: req.participantId,
      targetId: req.targetId,
      transport,
      clock: this.#clock,
      transportCcId,
      // The Waterbus media state names the screen track (room.screen_sharing / publish); a viewer
      // is sent the camera only.
      isScreenShare:
        req.offer === undefined
          ? (trackId) => publisher.mediaState.screenSharing && publisher.mediaState.screenTrackId === trackId
          : undefined,
      canPublishData: req.canPublishData,
    });
    let budget = room.budgets.get(req.participantId);
    if (!budget) {
      const created = new SubscriberBudget({
        subscriberId: req.participantId,
        onEmpty: () => {
          if (room.budgets.get(req.participantId) === created) room.budgets.delete(req.participantId);
        },
      });
      room.budgets.set(req.participantId, created);
      budget = created;
    }
    budget.add(subscription);
    return subscription;
  }

  /** A viewer's subscription ended without its leave: whoever serves it (WHEP) must hear of it. */
  #viewerEnded(roomId: RoomId, subscription: Subscription, reason: ViewerEndReason): void {
    this.#emit(roomId, {
      type: 'viewerEnded',
      participantId: subscription.subscriberId,
      targetId: subscription.targetId,
      reason,
    });
  }

  /**
   * A publisher homed here, described for another worker whose subscriber wants it. The relay
   * itself starts when that worker says `want` on its channel.
   */
  exportPublisher(req: ParticipantRef): RelayedPublisher {
    const publisher = this.#rooms.get(req.roomId)?.publishers.get(req.participantId);
    if (!publisher)
      throw new SfuError(
        'not_found',
        `participant ${req.participantId} publishes nothing in room ${req.roomId}`,
      );
    return {
      participantId: publisher.participantId,
      mediaState: { ...publisher.mediaState },
      tracks: [...publisher.tracks.values()].map((up) =>
        this.#describe(req.roomId, publisher.participantId, up),
      ),
    };
  }

  /** An egress tap on a publisher homed here, over `port`: answers the tracks it copies. */
  tap(req: ParticipantRef, port: MessagePort): RelayedTrack[] {
    return this.#taps.open(req, this.#rooms.get(req.roomId)?.publishers.get(req.participantId), port);
  }

  /** A channel to worker `index` (set up by the pool; replaces an older one). */
  addPeer(index: number, port: MessagePort): void {
    if (this.#links.has(index)) this.peerDown(index);
    this.#links.set(index, new PeerLink(index, port, (msg) => this.#onPeerMessage(index, msg)));
  }

  /** Worker `index` died: proxies of its publishers go (with their subscriptions), relays to it stop. */
  peerDown(index: number): void {
    const link = this.#links.get(index);
    this.#links.delete(index);
    for (const [roomId, room] of [...this.#rooms]) {
      for (const remote of [...room.remotes.values()])
        if (remote.fromWorker === index) this.#dropRemote(roomId, room, remote, false);
      for (const [publisherId, byWorker] of [...room.exports])
        if (byWorker.has(index)) this.#unexport(roomId, room, publisherId, index);
      this.#dropRoomIfEmpty(roomId, room);
    }
    if (link) {
      link.close();
      addHandover(this.#retired, link);
    }
  }

  setSubscriberAnswer(req: SubscriberAnswerRequest): void {
    const entry = this.#room(req.roomId).subscriptions.get(`${req.participantId}>${req.targetId}`);
    if (!entry) throw new SfuError('not_found', `no subscription of ${req.participantId} to ${req.targetId}`);
    if (!entry.sdp)
      throw new SfuError('invalid_state', `the subscription of ${req.participantId} answered its own offer`);
    const answer = parseSubscriberAnswer(req.sdp, entry.sdp);
    entry.subscription.transport.setRemoteParameters(answer.remote);
    entry.subscription.useRtx(answer.rtxSsrcs);
    if (answer.dataChannels)
      this.#data.attachSubscription(this.#room(req.roomId), entry.subscription, answer.dataChannels);
  }

  renegotiatePublisher(req: PublisherOfferRequest): { sdp: string } {
    const room = this.#room(req.roomId);
    const publisher = room.publishers.get(req.participantId);
    if (!publisher) throw new SfuError('invalid_state', `participant ${req.participantId} has not published`);
    const offer = parseRemoteDescription(req.sdp);
    // First: an ICE restart in the offer gives us new credentials, which the answer must carry.
    publisher.transport.setRemoteParameters(remoteTransportParameters(offer));
    const answer = createPublisherAnswer(offer, publisher.transport.localParameters);
    const added = publisher.addTracks(answer.tracks);
    if (answer.dataChannels) this.#data.attachPublisher(room, publisher, answer.dataChannels);
    if (added.length > 0) {
      this.#renegotiateSubscribers(req.roomId, room, publisher.participantId, added);
      this.#exportAdded(req.roomId, room, publisher.participantId, added);
      this.#taps.tracksAdded(req.roomId, publisher.participantId, added);
    }
    return { sdp: answer.sdp };
  }

  setMediaState(req: MediaStateRequest): void {
    const room = this.#rooms.get(req.roomId);
    const publisher = room?.publishers.get(req.participantId);
    if (!publisher) return;
    applyForwarding(publisher, req.state, req.enforce === true);
    Object.assign(publisher.mediaState, req.state);
    for (const to of room!.exports.get(req.participantId)?.keys() ?? [])
      this.#links
        .get(to)
        ?.post({ t: 'state', roomId: req.roomId, publisherId: req.participantId, state: { ...req.state } });
  }

  leave(req: ParticipantRef): void {
    const room = this.#rooms.get(req.roomId);
    if (!room) return;
    this.#closePublisher(req.roomId, room, req.participantId);
    const targets = new Set<ParticipantId>();
    for (const [key, entry] of room.subscriptions) {
      if (entry.subscription.subscriberId === req.participantId) {
        entry.subscription.close();
        room.subscriptions.delete(key);
        targets.add(entry.subscription.targetId);
      }
    }
    for (const targetId of targets) this.#releaseRemote(req.roomId, room, targetId);
    this.#dropRoomIfEmpty(req.roomId, room);
  }

  #dropRoomIfEmpty(roomId: RoomId, room: Room): void {
    if (
      room.publishers.size === 0 &&
      room.subscriptions.size === 0 &&
      room.remotes.size === 0 &&
      room.exports.size === 0 &&
      this.#rooms.get(roomId) === room
    ) {
      this.#rooms.delete(roomId);
      room.speakers.close();
      room.quality.close();
    }
  }

  /** Datagrams the worker's endpoint received and sent since start. */
  /** What this worker holds of the room (room-inspection.ts); the control side merges the workers. */
  inspectRoom(req: { roomId: RoomId }): RoomPart {
    const room = this.#rooms.get(req.roomId);
    return inspectRoomPart({
      roomId: req.roomId,
      nodeId: this.#nodeId,
      publishers: room?.publishers.values() ?? [],
      subscriptions: [...(room?.subscriptions.values() ?? [])].map((e) => e.subscription),
    });
  }

  datagrams(): number {
    return this.#endpoint.stats.datagramsReceived + this.#endpoint.stats.datagramsSent;
  }

  dump(): SfuDump {
    return {
      rooms: [...this.#rooms].map(([roomId, room]) => ({
        roomId,
        participants: [
          ...new Set([
            ...room.publishers.keys(),
            ...[...room.subscriptions.values()].map((s) => s.subscription.subscriberId),
          ]),
        ],
        publishers: room.publishers.size,
        subscriptions: room.subscriptions.size,
        downTracks: [...room.publishers.values(), ...room.remotes.values()].reduce(
          (n, p) =>
            n +
            [...p.tracks.values()].reduce(
              (m, up) =>
                m + [...up.sinks].filter((s) => !(s instanceof RelaySink) && !(s instanceof TapSink)).length,
              0,
            ),
          0,
        ),
        relays: [...room.exports.values()].reduce(
          (n, byWorker) => n + [...byWorker.values()].reduce((m, e) => m + e.sinks.size, 0),
          0,
        ),
        remoteTracks: [...room.remotes.values()].reduce((n, r) => n + r.tracks.size, 0),
        taps: this.#taps.count(roomId),
      })),
      transports: this.#endpoint.transportCount,
      dropped: {
        malformed: this.#endpoint.stats.malformed,
        unknownAddress: this.#endpoint.stats.unknownAddress,
        unknownUsername: this.#endpoint.stats.unknownUsername,
      },
      handover: [...this.#links.values()].reduce((sum, link) => addHandover(sum, link), { ...this.#retired }),
      data: { relayed: this.#data.stats.relayed, refused: this.#data.stats.refused },
      iceTcp: this.#endpoint.tcp?.dump(),
    };
  }

  async close(): Promise<void> {
    this.#taps.closeAll();
    for (const index of [...this.#links.keys()]) this.peerDown(index);
    for (const [roomId, room] of this.#rooms) {
      for (const id of [...room.publishers.keys()]) this.leave({ roomId, participantId: id });
      room.speakers.close();
      room.quality.close();
    }
    this.#endpoint.close();
  }

  #room(roomId: RoomId): Room {
    let room = this.#rooms.get(roomId);
    if (!room) {
      const publishers = new Map<ParticipantId, Publisher>();
      const subscriptions: Room['subscriptions'] = new Map();
      const budgets: Room['budgets'] = new Map();
      const emit = (event: SfuEvent) => this.#emit(roomId, event);
      room = {
        publishers,
        subscriptions,
        remotes: new Map(),
        exports: new Map(),
        budgets,
        speakers: new ActiveSpeakerMonitor({
          clock: this.#clock,
          publishers: () => publishers.values(),
          onChange: (speakers) => {
            const ids = new Set(speakers.map((s) => s.participantId));
            for (const budget of budgets.values()) budget.setActiveSpeakers(ids);
            const current = this.#rooms.get(roomId);
            for (const entry of [...subscriptions.values()])
              if (entry.follow && current) this.#follow(roomId, current, entry, speakers);
            // A hidden participant (join token grant) is named to nobody, itself included.
            const named = speakers.filter((s) => publishers.get(s.participantId)?.hidden !== true);
            emit({ type: 'activeSpeakers', speakers: named });
          },
        }),
        quality: new ConnectionQualityMonitor({
          clock: this.#clock,
          publishers: () => publishers.values(),
          subscriptions: () => [...subscriptions.values()].map((e) => e.subscription),
          onChange: (participantId, quality, score) =>
            emit({ type: 'connectionQuality', participantId, quality, score }),
        }),
      };
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  /** Closes a publisher and every subscription to it. */
  #closePublisher(_roomId: RoomId, room: Room, participantId: ParticipantId): void {
    const publisher = room.publishers.get(participantId);
    if (!publisher) return;
    room.publishers.delete(participantId);
    this.#taps.publisherGone(_roomId, participantId);
    // Other workers drop their proxies of it (and their subscriptions to it).
    for (const to of [...(room.exports.get(participantId)?.keys() ?? [])]) {
      this.#unexport(_roomId, room, participantId, to);
      this.#links.get(to)?.post({ t: 'gone', roomId: _roomId, publisherId: participantId });
    }
    for (const up of publisher.tracks.values()) {
      const relayId = this.#relayIds.get(up);
      if (relayId !== undefined) this.#outgoing.delete(relayId);
    }
    this.#closeSubscriptionsTo(_roomId, room, participantId);
    publisher.close();
  }

  /**
   * A DownTrack for `up` in `subscription`, and what the offer says of it: the server's payload
   * types, fresh SSRCs (media and RTX), and the forwarded extensions the publisher sends, mapped
   * from the publisher's ids to ours.
   */
  #offerTrack(subscription: Subscription, up: UpTrack): OfferedTrack {
    const capability = findCapability(up.codec.mimeType);
    if (!capability) throw new SfuError('unsupported', `cannot forward ${up.codec.mimeType}`);
    const ssrc = randomSsrc();
    const rtxSsrc = capability.rtxPayloadType === undefined ? undefined : randomSsrc();
    // The dependency descriptor only for AV1: Chromium sends it with VP8 and VP9 too, and there it
    // would describe each simulcast encoding's own frame numbers and chains, which a receiver that
    // trusts it cannot follow across our layer switches and temporal dropping (frames wait forever
    // for references it says exist). Without it, receivers use the codec's own payload descriptor.
    const av1 = /\/av1$/i.test(up.codec.mimeType);
    const headerExtensions = FORWARDED_EXTENSIONS[up.kind].filter(
      (e) =>
        (av1 || e.uri !== EXTENSION_URI.dependencyDescriptor) &&
        up.headerExtensions.some((p) => p.uri === e.uri),
    );
    const extensionIds = new Uint8Array(256);
    let absSendTimeId = 0;
    for (const e of headerExtensions) {
      extensionIds[up.headerExtensions.find((p) => p.uri === e.uri)!.id] = e.id;
      if (e.uri === EXTENSION_URI.absSendTime) absSendTimeId = e.id;
    }
    subscription.addTrack(up, {
      ssrc,
      payloadType: capability.payloadType,
      rtx: rtxSsrc === undefined ? undefined : { ssrc: rtxSsrc, payloadType: capability.rtxPayloadType! },
      extensionIds,
      absSendTimeId,
    });
    return {
      kind: up.kind,
      trackId: up.trackId,
      streamId: up.streamId,
      codec: { ...capability, fmtp: { ...capability.fmtp, ...up.codec.fmtp } },
      ssrc,
      rtxSsrc,
      cname: `bbmeet-${subscription.targetId}`,
      headerExtensions,
    };
  }

  /** The publisher added tracks: every subscriber to it gets them in a new server offer. */
  #renegotiateSubscribers(roomId: RoomId, room: Room, publisherId: ParticipantId, added: UpTrack[]): void {
    for (const entry of room.subscriptions.values()) {
      // A viewer (WHEP) has no renegotiation: it keeps the audio and camera it was answered.
      if (entry.subscription.targetId !== publisherId || !entry.sdp) continue;
      const tracks = added.map((up) => this.#offerTrack(entry.subscription, up));
      const offer = createSubscriberOffer({
        local: entry.subscription.transport.localParameters,
        state: entry.sdp,
        tracks,
      });
      entry.sdp = offer.state;
      this.#emit(roomId, {
        type: 'subscriberOffer',
        participantId: entry.subscription.subscriberId,
        targetId: publisherId,
        sdp: offer.sdp,
      });
    }
  }

  /** Relay id of a local track (assigned on first description), registered for feedback. */
  #describe(roomId: RoomId, publisherId: ParticipantId, up: UpTrack): RelayedTrack {
    let relayId = this.#relayIds.get(up);
    if (relayId === undefined) {
      relayId = this.#nextRelayId++;
      this.#relayIds.set(up, relayId);
      this.#outgoing.set(relayId, { roomId, publisherId, up });
    }
    return describeTrack(relayId, up);
  }

  /** Tracks added to an exported publisher: relayed too, and announced to the other workers. */
  #exportAdded(roomId: RoomId, room: Room, publisherId: ParticipantId, added: UpTrack[]): void {
    for (const [to, exp] of room.exports.get(publisherId) ?? []) {
      const link = this.#links.get(to);
      if (!link) continue;
      const tracks = added.map((up) => this.#describe(roomId, publisherId, up));
      for (const up of added) this.#attachRelay(exp, up, link);
      link.post({ t: 'tracks', roomId, publisherId, tracks });
    }
  }

  #attachRelay(exp: Export, up: UpTrack, link: PeerLink): void {
    if (exp.sinks.has(up)) return;
    const sink = new RelaySink(this.#relayIds.get(up)!, link);
    exp.sinks.set(up, sink);
    up.sinks.add(sink);
  }

  /** Stops relaying a local publisher to worker `to`, and forgets the wishes made from there. */
  #unexport(_roomId: RoomId, room: Room, publisherId: ParticipantId, to: number): void {
    const byWorker = room.exports.get(publisherId);
    const exp = byWorker?.get(to);
    if (!byWorker || !exp) return;
    for (const [up, sink] of exp.sinks) up.sinks.delete(sink);
    for (const key of exp.wishes) {
      const slash = key.indexOf('/');
      this.#outgoing.get(Number(key.slice(0, slash)))?.up.removeSubscriberWish(key.slice(slash + 1));
    }
    byWorker.delete(to);
    if (byWorker.size === 0) room.exports.delete(publisherId);
  }

  /**
   * The proxy of a publisher homed on worker `fromWorker` (created, or completed with tracks it
   * did not have). A proxy of an older instance of that publisher (it published again) is dropped
   * with its subscriptions first.
   */
  #remotePublisher(
    roomId: RoomId,
    room: Room,
    fromWorker: number,
    description: RelayedPublisher,
  ): RemotePublisher {
    const link = this.#links.get(fromWorker);
    if (!link) throw new SfuError('unavailable', `no channel to media worker ${fromWorker}`);
    const relayIds = new Set(description.tracks.map((t) => t.relayId));
    let remote = room.remotes.get(description.participantId);
    if (
      remote &&
      (remote.fromWorker !== fromWorker || [...remote.tracks.values()].some((t) => !relayIds.has(t.relayId)))
    ) {
      this.#dropRemote(roomId, room, remote, true);
      remote = undefined;
    }
    if (!remote) {
      remote = {
        participantId: description.participantId,
        fromWorker,
        mediaState: { ...description.mediaState },
        tracks: new Map(),
      };
      room.remotes.set(remote.participantId, remote);
      this.#addRemoteTracks(remote, link, description.tracks);
      link.post({
        t: 'want',
        roomId,
        publisherId: remote.participantId,
        relayIds: [...relayIds],
      });
    } else {
      Object.assign(remote.mediaState, description.mediaState);
      this.#addRemoteTracks(remote, link, description.tracks);
    }
    return remote;
  }

  #addRemoteTracks(remote: RemotePublisher, link: PeerLink, tracks: RelayedTrack[]): RemoteUpTrack[] {
    const added: RemoteUpTrack[] = [];
    for (const track of tracks) {
      if (remote.tracks.has(track.mid)) continue;
      const up = new RemoteUpTrack({
        track,
        fromWorker: remote.fromWorker,
        clock: this.#clock,
        feedback: {
          keyframe: (relayId, ssrc) => link.post({ t: 'keyframe', relayId, ssrc }),
          wish: (relayId, subscriberId, spatial) => link.post({ t: 'wish', relayId, subscriberId, spatial }),
        },
      });
      remote.tracks.set(track.mid, up);
      link.incoming.set(track.relayId, up);
      added.push(up);
    }
    return added;
  }

  /** The target left or stopped publishing: every subscription to it closes (viewers are told). */
  #closeSubscriptionsTo(roomId: RoomId, room: Room, targetId: ParticipantId): void {
    const speaking = room.speakers.speakers.map((s) => s.participantId);
    for (const [key, entry] of [...room.subscriptions]) {
      if (entry.subscription.targetId !== targetId) continue;
      // A viewer following the speaker moves on (the caller releases what it watched).
      if (
        entry.follow &&
        this.#moveViewer(roomId, room, entry, [...speaking, ...room.publishers.keys()], false)
      )
        continue;
      entry.subscription.close();
      room.subscriptions.delete(key);
      if (!entry.sdp) this.#viewerEnded(roomId, entry.subscription, 'target_left');
    }
  }

  /** A following viewer moves to the loudest visible publisher here, unless it watches that one. */
  #follow(roomId: RoomId, room: Room, entry: SubscriptionEntry, speakers: readonly ActiveSpeaker[]): void {
    const top = speakers.find((s) => room.publishers.get(s.participantId)?.hidden === false);
    if (!top || top.participantId === entry.subscription.targetId) return;
    this.#moveViewer(roomId, room, entry, [top.participantId], true);
  }

  /**
   * Moves a following viewer to the first of `candidates` (publishers here, visible) that sends
   * the kinds and codecs it was answered; false when none does. `release`: what it watched is
   * released (a proxy of a remote publisher nobody else watches).
   */
  #moveViewer(
    roomId: RoomId,
    room: Room,
    entry: SubscriptionEntry,
    candidates: Iterable<ParticipantId>,
    release: boolean,
  ): boolean {
    const { subscription } = entry;
    const from = subscription.targetId;
    for (const id of candidates) {
      const publisher = room.publishers.get(id);
      if (!publisher || id === from || publisher.hidden) continue;
      const { tracks, mediaState } = publisher;
      if (
        !switchViewer({
          subscription,
          answered: entry.follow!,
          targetId: id,
          tracks: tracks.values(),
          mediaState,
        })
      )
        continue;
      room.subscriptions.delete(`${subscription.subscriberId}>${from}`);
      room.subscriptions.set(subscriptionKey(subscription), entry);
      if (release) this.#releaseRemote(roomId, room, from);
      return true;
    }
    return false;
  }

  /** Drops a proxy and every subscription to it; `notify`: tell its worker to stop relaying. */
  #dropRemote(roomId: RoomId, room: Room, remote: RemotePublisher, notify: boolean): void {
    if (room.remotes.get(remote.participantId) !== remote) return;
    this.#closeSubscriptionsTo(roomId, room, remote.participantId);
    room.remotes.delete(remote.participantId);
    const link = this.#links.get(remote.fromWorker);
    for (const up of remote.tracks.values()) {
      if (link?.incoming.get(up.relayId) === up) link.incoming.delete(up.relayId);
      up.close();
    }
    remote.tracks.clear();
    if (notify) link?.post({ t: 'unwant', roomId, publisherId: remote.participantId });
  }

  /** A proxy nobody here subscribes to any more is dropped, and its relay stopped. */
  #releaseRemote(roomId: RoomId, room: Room, targetId: ParticipantId): void {
    const remote = room.remotes.get(targetId);
    if (!remote) return;
    for (const entry of room.subscriptions.values()) if (entry.subscription.targetId === targetId) return;
    this.#dropRemote(roomId, room, remote, true);
  }

  #onPeerMessage(from: number, msg: Exclude<PeerMessage, { t: 'rtp' }>): void {
    switch (msg.t) {
      case 'want': {
        const room = this.#rooms.get(msg.roomId);
        const publisher = room?.publishers.get(msg.publisherId);
        const link = this.#links.get(from);
        if (!link) return;
        const current = new Set([...(publisher?.tracks.values() ?? [])].map((up) => this.#relayIds.get(up)));
        if (!room || !publisher || msg.relayIds.some((id) => !current.has(id))) {
          // It left or published again since it was described: the other side drops its proxy.
          link.post({ t: 'gone', roomId: msg.roomId, publisherId: msg.publisherId });
          return;
        }
        let byWorker = room.exports.get(msg.publisherId);
        if (!byWorker) {
          byWorker = new Map();
          room.exports.set(msg.publisherId, byWorker);
        }
        let exp = byWorker.get(from);
        if (!exp) {
          exp = { sinks: new Map(), wishes: new Set() };
          byWorker.set(from, exp);
        }
        const known = new Set(msg.relayIds);
        const fresh: RelayedTrack[] = [];
        for (const up of publisher.tracks.values()) {
          const track = this.#describe(msg.roomId, msg.publisherId, up);
          this.#attachRelay(exp, up, link);
          if (!known.has(track.relayId)) fresh.push(track);
        }
        if (fresh.length > 0)
          link.post({ t: 'tracks', roomId: msg.roomId, publisherId: msg.publisherId, tracks: fresh });
        return;
      }
      case 'unwant': {
        const room = this.#rooms.get(msg.roomId);
        if (!room) return;
        this.#unexport(msg.roomId, room, msg.publisherId, from);
        this.#dropRoomIfEmpty(msg.roomId, room);
        return;
      }
      case 'gone': {
        const room = this.#rooms.get(msg.roomId);
        const remote = room?.remotes.get(msg.publisherId);
        if (!room || !remote || remote.fromWorker !== from) return;
        this.#dropRemote(msg.roomId, room, remote, false);
        this.#dropRoomIfEmpty(msg.roomId, room);
        return;
      }
      case 'tracks': {
        const room = this.#rooms.get(msg.roomId);
        const remote = room?.remotes.get(msg.publisherId);
        const link = this.#links.get(from);
        if (!room || !remote || remote.fromWorker !== from || !link) return;
        const added = this.#addRemoteTracks(remote, link, msg.tracks);
        if (added.length > 0) this.#renegotiateSubscribers(msg.roomId, room, msg.publisherId, added);
        return;
      }
      case 'state': {
        const remote = this.#rooms.get(msg.roomId)?.remotes.get(msg.publisherId);
        if (remote && remote.fromWorker === from) Object.assign(remote.mediaState, msg.state);
        return;
      }
      case 'keyframe': {
        const out = this.#outgoing.get(msg.relayId);
        out?.up.requestKeyframe(msg.ssrc === 0 ? undefined : msg.ssrc);
        return;
      }
      case 'wish': {
        const out = this.#outgoing.get(msg.relayId);
        const exp = out && this.#rooms.get(out.roomId)?.exports.get(out.publisherId)?.get(from);
        if (!out || !exp) return;
        const key = `${msg.relayId}/${msg.subscriberId}`;
        if (msg.spatial === null) {
          out.up.removeSubscriberWish(msg.subscriberId);
          exp.wishes.delete(key);
        } else {
          out.up.setSubscriberWish(msg.subscriberId, msg.spatial);
          exp.wishes.add(key);
        }
        return;
      }
      case 'sr': {
        this.#links
          .get(from)
          ?.incoming.get(msg.relayId)
          ?.onSenderReport(msg.ssrc, msg.ntpMs, msg.rtpTimestamp);
        return;
      }
    }
  }
}

function addHandover(sum: HandoverStats, link: PeerLink): HandoverStats {
  sum.batchesSent += link.writer.batches;
  sum.packetsSent += link.writer.packets;
  sum.batchesReceived += link.stats.batchesIn;
  sum.packetsReceived += link.stats.packetsIn;
  sum.malformed += link.stats.malformed;
  sum.unknownTrack += link.stats.unknownTrack;
  return sum;
}

/** Mime type of the source's video track, for `room.answer_subscriber.videoCodec`. */
function videoCodecOf(source: Source): string {
  for (const t of source.tracks.values()) if (t.kind === 'video') return t.codec.mimeType;
  return '';
}

function subscriptionKey(subscription: Subscription): string {
  return `${subscription.subscriberId}>${subscription.targetId}`;
}

function randomSsrc(): number {
  return (1 + Math.floor(Math.random() * 0xfffffffe)) >>> 0;
}
