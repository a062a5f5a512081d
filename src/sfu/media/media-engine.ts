import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type {
  JoinRequest,
  JoinResponse,
  MediaStateRequest,
  ParticipantRef,
  PublisherOfferRequest,
  SfuDump,
  SfuEvent,
  SubscribeRequest,
  SubscribeResponse,
  SubscriberAnswerRequest,
} from '../../protocol/sfu-api.ts';
import {
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
import type { WorkerOperation } from '../worker-protocol.ts';
import { ActiveSpeakerMonitor } from './active-speaker-monitor.ts';
import { ConnectionQualityMonitor } from './connection-quality-monitor.ts';
import { DataChannelRelay } from './data-channels.ts';
import { Publisher } from './publisher.ts';
import { Subscription } from './subscription.ts';
import type { UpTrack } from './up-track.ts';
import type { WorkerEngine } from './worker-host.ts';

interface Room {
  publishers: Map<ParticipantId, Publisher>;
  /** key: `${subscriberId}>${targetId}` */
  subscriptions: Map<string, { subscription: Subscription; sdp: SubscriberSdpState }>;
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
        return this.subscribe(args as SubscribeRequest);
      case 'setSubscriberAnswer':
        return this.setSubscriberAnswer(args as SubscriberAnswerRequest);
      case 'renegotiatePublisher':
        return this.renegotiatePublisher(args as PublisherOfferRequest);
      case 'setMediaState':
        return this.setMediaState(args as MediaStateRequest);
      case 'leave':
        return this.leave(args as ParticipantRef);
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

  subscribe(req: SubscribeRequest): SubscribeResponse {
    const room = this.#room(req.roomId);
    const publisher = room.publishers.get(req.targetId);
    if (!publisher)
      throw new SfuError('not_found', `participant ${req.targetId} publishes nothing in room ${req.roomId}`);
    const key = `${req.participantId}>${req.targetId}`;
    room.subscriptions.get(key)?.subscription.close();
    const transport = this.#endpoint.createTransport();
    const subscription = new Subscription({
      subscriberId: req.participantId,
      targetId: req.targetId,
      transport,
      clock: this.#clock,
      // The Waterbus media state names the screen track (room.screen_sharing / publish).
      isScreenShare: (trackId) =>
        publisher.mediaState.screenSharing && publisher.mediaState.screenTrackId === trackId,
    });
    const tracks = [...publisher.tracks.values()].map((up) => this.#offerTrack(subscription, up));
    const offer = createSubscriberOffer({ local: transport.localParameters, tracks, dataChannels: true });
    room.subscriptions.set(key, { subscription, sdp: offer.state });
    transport.onStateChange = (state, reason) => {
      if (state !== 'closed' || reason === 'closed') return;
      // The subscriber stopped answering (consent) or DTLS failed: release its down tracks now.
      // Its publisher connection, if it is gone too, reports participantLost on its own.
      if (room.subscriptions.get(key)?.subscription !== subscription) return;
      subscription.close();
      room.subscriptions.delete(key);
      this.#dropRoomIfEmpty(req.roomId, room);
    };
    return { offer: offer.sdp, videoCodec: publisher.videoCodec };
  }

  setSubscriberAnswer(req: SubscriberAnswerRequest): void {
    const entry = this.#room(req.roomId).subscriptions.get(`${req.participantId}>${req.targetId}`);
    if (!entry) throw new SfuError('not_found', `no subscription of ${req.participantId} to ${req.targetId}`);
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
    if (added.length > 0) this.#renegotiateSubscribers(req.roomId, room, publisher, added);
    return { sdp: answer.sdp };
  }

  setMediaState(req: MediaStateRequest): void {
    const publisher = this.#rooms.get(req.roomId)?.publishers.get(req.participantId);
    if (publisher) Object.assign(publisher.mediaState, req.state);
  }

  leave(req: ParticipantRef): void {
    const room = this.#rooms.get(req.roomId);
    if (!room) return;
    this.#closePublisher(req.roomId, room, req.participantId);
    for (const [key, entry] of room.subscriptions) {
      if (entry.subscription.subscriberId === req.participantId) {
        entry.subscription.close();
        room.subscriptions.delete(key);
      }
    }
    this.#dropRoomIfEmpty(req.roomId, room);
  }

  #dropRoomIfEmpty(roomId: RoomId, room: Room): void {
    if (room.publishers.size === 0 && room.subscriptions.size === 0 && this.#rooms.get(roomId) === room) {
      this.#rooms.delete(roomId);
      room.speakers.close();
      room.quality.close();
    }
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
        downTracks: [...room.publishers.values()].reduce(
          (n, p) => n + [...p.tracks.values()].reduce((m, up) => m + up.sinks.size, 0),
          0,
        ),
      })),
      transports: this.#endpoint.transportCount,
      dropped: {
        malformed: this.#endpoint.stats.malformed,
        unknownAddress: this.#endpoint.stats.unknownAddress,
        unknownUsername: this.#endpoint.stats.unknownUsername,
      },
    };
  }

  async close(): Promise<void> {
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
      const emit = (event: SfuEvent) => this.#emit(roomId, event);
      room = {
        publishers,
        subscriptions,
        speakers: new ActiveSpeakerMonitor({
          clock: this.#clock,
          publishers: () => publishers.values(),
          onChange: (speakers) => emit({ type: 'activeSpeakers', speakers }),
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
    for (const [key, entry] of room.subscriptions) {
      if (entry.subscription.targetId === participantId) {
        entry.subscription.close();
        room.subscriptions.delete(key);
      }
    }
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
  #renegotiateSubscribers(roomId: RoomId, room: Room, publisher: Publisher, added: UpTrack[]): void {
    for (const entry of room.subscriptions.values()) {
      if (entry.subscription.targetId !== publisher.participantId) continue;
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
        targetId: publisher.participantId,
        sdp: offer.sdp,
      });
    }
  }
}

function randomSsrc(): number {
  return (1 + Math.floor(Math.random() * 0xfffffffe)) >>> 0;
}
