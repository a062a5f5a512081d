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
} from '../../protocol/sfu-api.ts';
import {
  createPublisherAnswer,
  parseRemoteDescription,
  type RemoteDescription,
  remoteTransportParameters,
} from '../../transport/negotiation/index.ts';
import type { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import type { WorkerOperation } from '../worker-protocol.ts';
import type { ActiveSpeaker } from './active-speaker.ts';
import { DataChannelRelay } from './data-channels.ts';
import { EgressTaps } from './egress-tap.ts';
import { type EngineParts, engineDump, engineMediaReport } from './engine-report.ts';
import {
  closeRoomMonitors,
  createRoom,
  isRoomEmpty,
  presentParticipants,
  type Room,
  type SubscriptionEntry,
} from './engine-room.ts';
import { EngineSubscriptions } from './engine-subscriptions.ts';
import { Publisher } from './publisher.ts';
import type { RelayedPublisher, RelayedTrack } from './relay.ts';
import { type RoomCodecPolicy, roomVideoPicker } from './room-codecs.ts';
import { applyForwarding, inspectRoomPart, type RoomPart } from './room-inspection.ts';
import { followSpeaker, moveViewer } from './speaker-following.ts';
import { offerAddedTracks, type SubscribeArgs } from './subscription-negotiation.ts';
import type { UpTrack } from './up-track.ts';
import type { WorkerEngine } from './worker-host.ts';
import { WorkerRelays } from './worker-relays.ts';

/**
 * The SFU inside one media worker: rooms of publishers and subscriptions on the worker's UDP
 * endpoint. Implements the SfuApi operations for the rooms pinned to this worker: the publish
 * path and the rooms' lifecycle here; subscribes and subscriber answers in engine-subscriptions.ts,
 * the worker's reports in engine-report.ts, the room's state in engine-room.ts, the
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
  /** What the reports read (engine-report.ts). */
  readonly #parts: EngineParts;
  /** Subscribes and subscriber answers (engine-subscriptions.ts). */
  readonly #subscriptions: EngineSubscriptions;

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
    this.#subscriptions = new EngineSubscriptions({
      endpoint: this.#endpoint,
      clock: this.#clock,
      logger: this.#logger,
      emit: this.#emit,
      relays: this.#relays,
      data: this.#data,
      room: (roomId) => this.#room(roomId),
      dropRoomIfEmpty: (roomId, room) => this.#dropRoomIfEmpty(roomId, room),
      follow: (roomId, room, entry, speakers) => this.#follow(roomId, room, entry, speakers),
    });
    this.#parts = {
      endpoint: this.#endpoint,
      rooms: this.#rooms,
      relays: this.#relays,
      data: this.#data,
      taps: this.#taps,
    };
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
    return this.#subscriptions.subscribe(req);
  }

  setSubscriberAnswer(req: SubscriberAnswerRequest): SubscriberAnswerResponse {
    return this.#subscriptions.setSubscriberAnswer(req);
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
    return engineMediaReport(this.#parts);
  }

  dump(): SfuDump {
    return engineDump(this.#parts);
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
      if (!entry.sdp) this.#subscriptions.viewerEnded(roomId, entry.subscription, 'target_left');
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
