import type { MessagePort } from 'node:worker_threads';
import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { MediaWorkerReport } from '../../lib/media-counters.ts';
import type {
  JoinRequest,
  JoinResponse,
  MediaStateRequest,
  ParticipantRef,
  PublisherOfferRequest,
  SfuDump,
  SfuEvent,
  SubscribeResponse,
  SubscriberAnswerRequest,
  SubscriberAnswerResponse,
  ViewerEndReason,
} from '../../protocol/sfu-api.ts';
import {
  createPublisherAnswer,
  parseRemoteDescription,
  parseSubscriberAnswer,
  type RemoteDescription,
  remoteTransportParameters,
} from '../../transport/negotiation/index.ts';
import type { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import type { WorkerOperation } from '../worker-protocol.ts';
import type { ActiveSpeaker } from './active-speaker.ts';
import { DataChannelRelay } from './data-channels.ts';
import { EgressTaps } from './egress-tap.ts';
import {
  closeRoomMonitors,
  createRoom,
  dumpRoom,
  isRoomEmpty,
  presentParticipants,
  type Room,
  type Source,
  type SubscriptionEntry,
  subscriptionKey,
} from './engine-room.ts';
import { Publisher } from './publisher.ts';
import type { RelayedPublisher, RelayedTrack } from './relay.ts';
import { type RoomCodecPolicy, roomVideoPicker } from './room-codecs.ts';
import { applyForwarding, inspectRoomPart, type RoomPart } from './room-inspection.ts';
import { followSpeaker, moveViewer } from './speaker-following.ts';
import type { Subscription } from './subscription.ts';
import {
  type Negotiated,
  negotiateSubscription,
  newSubscription,
  offerAddedTracks,
  offerWithoutRefused,
  type SubscribeArgs,
} from './subscription-negotiation.ts';
import type { UpTrack } from './up-track.ts';
import type { WorkerEngine } from './worker-host.ts';
import { WorkerRelays } from './worker-relays.ts';

/**
 * The SFU inside one media worker: rooms of publishers and subscriptions on the worker's UDP
 * endpoint. Implements the SfuApi operations for the rooms pinned to this worker: the publish
 * and subscribe paths and the rooms' lifecycle here; the room's state in engine-room.ts, the
 * subscriptions' SDP in subscription-negotiation.ts, viewers following the active speaker in
 * speaker-following.ts, the relays to and from other workers in worker-relays.ts.
 */
export class MediaEngine implements WorkerEngine {
  readonly #endpoint: UdpEndpoint;
  readonly #clock: Clock;
  readonly #nodeId: string;
  readonly #emit: (roomId: RoomId, event: SfuEvent) => void;
  readonly #rooms = new Map<RoomId, Room>();
  /** Data channels: track_quality both ways and the room data relay (data-channels.ts). */
  readonly #data = new DataChannelRelay();
  /** Rooms spanning workers: channels, exports and proxies (worker-relays.ts). */
  readonly #relays: WorkerRelays;
  /** Egress taps on publishers homed here (egress-tap.ts). */
  readonly #taps: EgressTaps;
  /** How a publisher's video codec is chosen (room-codecs.ts). */
  readonly #codecPolicy: RoomCodecPolicy;
  readonly #logger: Logger | undefined;

  constructor(options: {
    endpoint: UdpEndpoint;
    clock: Clock;
    nodeId: string;
    emit: (roomId: RoomId, event: SfuEvent) => void;
    /** Default `auto`. */
    codecPolicy?: RoomCodecPolicy | undefined;
    /** Debug lines of the media path (a subscription's first keyframe); none when absent. */
    logger?: Logger | undefined;
  }) {
    this.#logger = options.logger;
    this.#codecPolicy = options.codecPolicy ?? 'auto';
    this.#endpoint = options.endpoint;
    this.#clock = options.clock;
    this.#nodeId = options.nodeId;
    this.#emit = options.emit;
    this.#relays = new WorkerRelays({
      rooms: this.#rooms,
      clock: this.#clock,
      closeSubscriptionsTo: (roomId, room, targetId) => this.#closeSubscriptionsTo(roomId, room, targetId),
      dropRoomIfEmpty: (roomId, room) => this.#dropRoomIfEmpty(roomId, room),
      renegotiateSubscribers: (roomId, room, publisherId, added) =>
        this.#renegotiateSubscribers(roomId, room, publisherId, added),
    });
    this.#taps = new EgressTaps((roomId, publisherId, up) => this.#relays.describe(roomId, publisherId, up));
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
    const answer = createPublisherAnswer(
      offer,
      transport.localParameters,
      this.#videoPicker(room, req.participantId, undefined),
    );
    room.codecs.learnOffer(req.participantId, offeredVideoCodecs(offer));
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
    publisher.addTracks(answer.tracks, new Map((req.backupSections ?? []).map((b) => [b.mid, b.primaryMid])));
    this.#watchPublisher(req.roomId, room, req.participantId, transport);
    room.publishers.set(req.participantId, publisher);
    if (answer.dataChannels) this.#data.attachPublisher(room, publisher, answer.dataChannels);
    return { sdp: answer.sdp, isRecording: false };
  }

  /** How `publisherId`'s video sections are answered (room-codecs.ts); `current`: mid → codec it sends. */
  #videoPicker(room: Room, publisherId: ParticipantId, current: Map<string, string> | undefined) {
    return roomVideoPicker({
      policy: this.#codecPolicy,
      codecs: room.codecs,
      present: presentParticipants(room),
      publisherId,
      current,
    });
  }

  /** The publisher's transport closed by itself (not by us): it is lost to the room. */
  #watchPublisher(
    roomId: RoomId,
    room: Room,
    participantId: ParticipantId,
    transport: WebRtcTransport,
  ): void {
    transport.onStateChange = (state, reason) => {
      if (state !== 'closed' || reason === 'closed') return;
      // The peer stopped answering (consent) or DTLS failed: the room must hear of it.
      this.#closePublisher(roomId, room, participantId);
      room.codecs.forget(participantId);
      this.#dropRoomIfEmpty(roomId, room);
      this.#emit(roomId, { type: 'participantLost', participantId, reason: 'consent_timeout' });
    };
  }

  subscribe(req: SubscribeArgs): SubscribeResponse {
    const room = this.#room(req.roomId);
    const publisher: Source | undefined = req.remote
      ? this.#relays.remotePublisher(req.roomId, room, req.remote.fromWorker, req.remote.publisher)
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
      made = negotiateSubscription(
        req,
        publisher,
        transport,
        (transportCcId) => {
          subscription = newSubscription({
            room,
            req,
            publisher,
            transport,
            transportCcId,
            clock: this.#clock,
            logger: this.#logger,
          });
          return subscription;
        },
        room.codecs.decoder(req.participantId),
      );
    } catch (err) {
      if (subscription) subscription.close();
      else transport.close();
      room.subscriptions.delete(key);
      this.#relays.releaseRemote(req.roomId, room, req.targetId);
      this.#dropRoomIfEmpty(req.roomId, room);
      throw err;
    }
    const follow = req.followActiveSpeaker ? made.answered : undefined;
    const entry: SubscriptionEntry = { subscription: subscription!, sdp: made.sdp, follow };
    room.subscriptions.set(key, entry);
    // A viewer's own offer (WHEP) lists every codec it decodes.
    if (req.offer !== undefined) room.codecs.learnOffer(req.participantId, entry.subscription.receiveCodecs);
    this.#watchSubscription(req.roomId, room, entry);
    if (follow) this.#follow(req.roomId, room, entry, room.speakers.speakers);
    return made.reply;
  }

  /** The subscriber's transport closed by itself (not by us): its subscription goes. */
  #watchSubscription(roomId: RoomId, room: Room, entry: SubscriptionEntry): void {
    const created = entry.subscription;
    created.transport.onStateChange = (state, reason) => {
      created.transportStateChanged(state);
      if (state !== 'closed' || reason === 'closed') return;
      // The subscriber stopped answering (consent) or DTLS failed: release its down tracks now.
      // Its publisher connection, if it is gone too, reports participantLost on its own.
      const current = subscriptionKey(created);
      if (room.subscriptions.get(current) !== entry) return;
      created.close();
      room.subscriptions.delete(current);
      if (!entry.sdp) this.#viewerEnded(roomId, created, 'consent_timeout');
      this.#relays.releaseRemote(roomId, room, created.targetId);
      this.#dropRoomIfEmpty(roomId, room);
    };
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
    return this.#relays.describePublisher(req.roomId, publisher);
  }

  /** An egress tap on a publisher homed here, over `port`: answers the tracks it copies. */
  tap(req: ParticipantRef, port: MessagePort): RelayedTrack[] {
    return this.#taps.open(req, this.#rooms.get(req.roomId)?.publishers.get(req.participantId), port);
  }

  /** A channel to worker `index` (set up by the pool; replaces an older one). */
  addPeer(index: number, port: MessagePort): void {
    this.#relays.addPeer(index, port);
  }

  /** Worker `index` died: proxies of its publishers go (with their subscriptions), relays to it stop. */
  peerDown(index: number): void {
    this.#relays.peerDown(index);
  }

  setSubscriberAnswer(req: SubscriberAnswerRequest): SubscriberAnswerResponse {
    const entry = this.#room(req.roomId).subscriptions.get(`${req.participantId}>${req.targetId}`);
    if (!entry) throw new SfuError('not_found', `no subscription of ${req.participantId} to ${req.targetId}`);
    if (!entry.sdp)
      throw new SfuError('invalid_state', `the subscription of ${req.participantId} answered its own offer`);
    const room = this.#room(req.roomId);
    const answer = parseSubscriberAnswer(req.sdp, entry.sdp);
    entry.subscription.answered();
    entry.subscription.transport.setRemoteParameters(answer.remote);
    entry.subscription.useRtx(answer.rtxSsrcs);
    entry.subscription.receiveCodecs = answer.receiveCodecs;
    room.codecs.learnAnswer(
      req.participantId,
      answer.receiveCodecs,
      answer.refused.map((t) => t.mimeType),
    );
    if (answer.dataChannels) this.#data.attachSubscription(room, entry.subscription, answer.dataChannels);
    // Backups are not relayed across workers (worker-relays.ts): only a publisher homed here has one.
    const replaced = offerWithoutRefused(
      entry,
      new Set(answer.refused.map((t) => t.mid)),
      (event) => this.#emit(req.roomId, event),
      {
        tracks: room.publishers.get(req.targetId)?.tracks.values() ?? [],
        decodes: room.codecs.decoder(req.participantId),
      },
    );
    return {
      refusedTracks: answer.refused
        .filter((t) => !replaced.has(t.mid))
        .map(({ trackId, kind, mimeType }) => ({ trackId, kind, mimeType })),
    };
  }

  renegotiatePublisher(req: PublisherOfferRequest): { sdp: string } {
    const room = this.#room(req.roomId);
    const publisher = room.publishers.get(req.participantId);
    if (!publisher) throw new SfuError('invalid_state', `participant ${req.participantId} has not published`);
    const offer = parseRemoteDescription(req.sdp);
    // First: an ICE restart in the offer gives us new credentials, which the answer must carry.
    publisher.transport.setRemoteParameters(remoteTransportParameters(offer));
    const current = new Map([...publisher.tracks].map(([mid, up]) => [mid, up.codec.mimeType]));
    const answer = createPublisherAnswer(
      offer,
      publisher.transport.localParameters,
      this.#videoPicker(room, publisher.participantId, current),
    );
    const added = publisher.addTracks(answer.tracks);
    if (answer.dataChannels) this.#data.attachPublisher(room, publisher, answer.dataChannels);
    if (added.length > 0) {
      this.#renegotiateSubscribers(req.roomId, room, publisher.participantId, added);
      this.#relays.exportAdded(req.roomId, room, publisher.participantId, added);
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
    this.#relays.stateChanged(req.roomId, room!, req.participantId, req.state);
  }

  leave(req: ParticipantRef): void {
    const room = this.#rooms.get(req.roomId);
    if (!room) return;
    this.#closePublisher(req.roomId, room, req.participantId);
    room.codecs.forget(req.participantId);
    const targets = new Set<ParticipantId>();
    for (const [key, entry] of room.subscriptions) {
      if (entry.subscription.subscriberId === req.participantId) {
        entry.subscription.close();
        room.subscriptions.delete(key);
        targets.add(entry.subscription.targetId);
      }
    }
    for (const targetId of targets) this.#relays.releaseRemote(req.roomId, room, targetId);
    this.#dropRoomIfEmpty(req.roomId, room);
  }

  #dropRoomIfEmpty(roomId: RoomId, room: Room): void {
    if (isRoomEmpty(room) && this.#rooms.get(roomId) === room) {
      this.#rooms.delete(roomId);
      closeRoomMonitors(room);
    }
  }

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

  /** Datagrams the worker's endpoint received and sent since start. */
  datagrams(): number {
    return this.#endpoint.stats.datagramsReceived + this.#endpoint.stats.datagramsSent;
  }

  /** The drops counted outside the media counters, and the objects live here (once a second). */
  mediaReport(): Omit<MediaWorkerReport, 'counters' | 'histograms'> {
    const stats = this.#endpoint.stats;
    const handover = this.#relays.handover();
    const tcp = this.#endpoint.tcp?.dump();
    const gauges = { publishers: 0, subscriptions: 0, downTracks: 0 };
    for (const [roomId, room] of this.#rooms) {
      const part = dumpRoom(roomId, room, 0);
      gauges.publishers += part.publishers;
      gauges.subscriptions += part.subscriptions;
      gauges.downTracks += part.downTracks;
    }
    return {
      drops: {
        malformed: stats.malformed,
        unknownPeer: stats.unknownAddress,
        unknownUfrag: stats.unknownUsername,
        sendError: stats.sendErrors,
        sendBufferFull: (tcp?.rtpDropped ?? 0) + (tcp?.otherDropped ?? 0),
        tcpFraming: tcp?.framingErrors ?? 0,
        relayMalformed: handover.malformed,
        relayUnknownTrack: handover.unknownTrack,
        dataRefused: this.#data.stats.refused,
      },
      gauges: {
        ...gauges,
        transports: this.#endpoint.transportCount,
        dataChannels: this.#endpoint.dataChannelCount(),
        eventLoopDelayP99Seconds: 0,
        cpuSeconds: 0,
      },
    };
  }

  dump(): SfuDump {
    return {
      rooms: [...this.#rooms].map(([roomId, room]) => dumpRoom(roomId, room, this.#taps.count(roomId))),
      transports: this.#endpoint.transportCount,
      dropped: {
        malformed: this.#endpoint.stats.malformed,
        unknownAddress: this.#endpoint.stats.unknownAddress,
        unknownUsername: this.#endpoint.stats.unknownUsername,
      },
      handover: this.#relays.handover(),
      data: { relayed: this.#data.stats.relayed, refused: this.#data.stats.refused },
      iceTcp: this.#endpoint.tcp?.dump(),
    };
  }

  async close(): Promise<void> {
    this.#taps.closeAll();
    this.#relays.close();
    for (const [roomId, room] of this.#rooms) {
      for (const id of [...room.publishers.keys()]) this.leave({ roomId, participantId: id });
      closeRoomMonitors(room);
    }
    this.#endpoint.close();
  }

  #room(roomId: RoomId): Room {
    let room = this.#rooms.get(roomId);
    if (!room) {
      room = createRoom({
        clock: this.#clock,
        emit: (event) => this.#emit(roomId, event),
        onSpeakers: (created, speakers) => {
          const current = this.#rooms.get(roomId);
          for (const entry of [...created.subscriptions.values()])
            if (entry.follow && current) this.#follow(roomId, current, entry, speakers);
        },
      });
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  /** Closes a publisher and every subscription to it. */
  #closePublisher(roomId: RoomId, room: Room, participantId: ParticipantId): void {
    const publisher = room.publishers.get(participantId);
    if (!publisher) return;
    room.publishers.delete(participantId);
    this.#taps.publisherGone(roomId, participantId);
    this.#relays.publisherClosed(roomId, room, publisher);
    this.#closeSubscriptionsTo(roomId, room, participantId);
    publisher.close();
  }

  /** The publisher added tracks: every subscriber to it gets them in a new server offer. */
  #renegotiateSubscribers(roomId: RoomId, room: Room, publisherId: ParticipantId, added: UpTrack[]): void {
    offerAddedTracks(room, publisherId, added, (event) => this.#emit(roomId, event));
  }

  /** The target left or stopped publishing: every subscription to it closes (viewers are told). */
  #closeSubscriptionsTo(roomId: RoomId, room: Room, targetId: ParticipantId): void {
    const speaking = room.speakers.speakers.map((s) => s.participantId);
    for (const [key, entry] of [...room.subscriptions]) {
      if (entry.subscription.targetId !== targetId) continue;
      // A viewer following the speaker moves on (the caller releases what it watched).
      if (entry.follow && moveViewer(room, entry, [...speaking, ...room.publishers.keys()], undefined))
        continue;
      entry.subscription.close();
      room.subscriptions.delete(key);
      if (!entry.sdp) this.#viewerEnded(roomId, entry.subscription, 'target_left');
    }
  }

  /** A following viewer moves to the loudest visible publisher here, unless it watches that one. */
  #follow(roomId: RoomId, room: Room, entry: SubscriptionEntry, speakers: readonly ActiveSpeaker[]): void {
    followSpeaker(room, entry, speakers, (from) => this.#relays.releaseRemote(roomId, room, from));
  }
}

/** The codecs of an offer's video sections: what the offerer's browser supports. */
function offeredVideoCodecs(offer: RemoteDescription): string[] {
  return offer.media
    .filter((m) => m.kind === 'video' && m.port !== 0)
    .flatMap((m) => m.codecs.map((c) => c.mimeType));
}
