/**
 * The subscriptions of a media worker's rooms: a subscribe (the server's offer, or the answer to a
 * WHEP viewer's own offer) and the subscriber's answer, the subscriber's transport closing by
 * itself, and a viewer told its subscription ended. The engine (media-engine.ts) owns the rooms,
 * the publishers and the relays, and hands this what it needs.
 */

import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { RoomId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type {
  SfuEvent,
  SubscribeResponse,
  SubscriberAnswerRequest,
  SubscriberAnswerResponse,
  ViewerEndReason,
} from '../../protocol/sfu-api.ts';
import { withIceCredentials } from '../../protocol/whip-sdp.ts';
import {
  parseRemoteDescription,
  parseSubscriberAnswer,
  remoteTransportParameters,
} from '../../transport/negotiation/index.ts';
import type { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import type { ActiveSpeaker } from './active-speaker.ts';
import type { DataChannelRelay } from './data-channels.ts';
import { type Room, type Source, type SubscriptionEntry, subscriptionKey } from './engine-room.ts';
import type { Subscription } from './subscription.ts';
import {
  type Negotiated,
  negotiateSubscription,
  newSubscription,
  offerWithoutRefused,
  type SubscribeArgs,
} from './subscription-negotiation.ts';
import type { WorkerRelays } from './worker-relays.ts';

export interface EngineSubscriptionsDeps {
  endpoint: UdpEndpoint;
  clock: Clock;
  /** Debug lines of the media path (a subscription's first keyframe); none when absent. */
  logger: Logger | undefined;
  emit: (roomId: RoomId, event: SfuEvent) => void;
  relays: WorkerRelays;
  data: DataChannelRelay;
  /** The room, made when missing. */
  room: (roomId: RoomId) => Room;
  dropRoomIfEmpty: (roomId: RoomId, room: Room) => void;
  /** A viewer following the active speaker moves to the loudest visible publisher. */
  follow: (roomId: RoomId, room: Room, entry: SubscriptionEntry, speakers: readonly ActiveSpeaker[]) => void;
}

export class EngineSubscriptions {
  readonly #deps: EngineSubscriptionsDeps;

  constructor(deps: EngineSubscriptionsDeps) {
    this.#deps = deps;
  }

  subscribe(req: SubscribeArgs): SubscribeResponse {
    if (req.iceRestart) return this.#restartViewerIce(req);
    const room = this.#deps.room(req.roomId);
    const publisher: Source | undefined = req.remote
      ? this.#deps.relays.remotePublisher(req.roomId, room, req.remote.fromWorker, req.remote.publisher)
      : room.publishers.get(req.targetId);
    if (!publisher) {
      this.#deps.dropRoomIfEmpty(req.roomId, room);
      throw new SfuError('not_found', `participant ${req.targetId} publishes nothing in room ${req.roomId}`);
    }
    const key = `${req.participantId}>${req.targetId}`;
    room.subscriptions.get(key)?.subscription.close();
    const transport = this.#deps.endpoint.createTransport();
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
            clock: this.#deps.clock,
            logger: this.#deps.logger,
          });
          return subscription;
        },
        room.codecs.decoder(req.participantId),
      );
    } catch (err) {
      if (subscription) subscription.close();
      else transport.close();
      room.subscriptions.delete(key);
      this.#deps.relays.releaseRemote(req.roomId, room, req.targetId);
      this.#deps.dropRoomIfEmpty(req.roomId, room);
      throw err;
    }
    const follow = req.followActiveSpeaker ? made.answered : undefined;
    const entry: SubscriptionEntry = {
      subscription: subscription!,
      sdp: made.sdp,
      answer: made.reply.answer,
      follow,
    };
    room.subscriptions.set(key, entry);
    // A viewer's own offer (WHEP) lists every codec it decodes.
    if (req.offer !== undefined) room.codecs.learnOffer(req.participantId, entry.subscription.receiveCodecs);
    this.#watchSubscription(req.roomId, room, entry);
    if (follow) this.#deps.follow(req.roomId, room, entry, room.speakers.speakers);
    return made.reply;
  }

  /**
   * A viewer's ICE restart (RFC 8445 §9): its transport takes the offer's new credentials and makes
   * new local ones; DTLS and the forwarding go on. The answer is its first one with our new
   * credentials. The viewer is found by its id (a follower's target changes).
   */
  #restartViewerIce(req: SubscribeArgs): SubscribeResponse {
    if (req.offer === undefined) throw new SfuError('invalid_argument', 'an ICE restart needs the offer');
    const offer = parseRemoteDescription(req.offer);
    const room = this.#deps.room(req.roomId);
    const entry = [...room.subscriptions.values()].find(
      (e) => e.subscription.subscriberId === req.participantId && e.answer !== undefined,
    );
    if (!entry?.answer) {
      this.#deps.dropRoomIfEmpty(req.roomId, room);
      throw new SfuError('not_found', `no viewer ${req.participantId} in room ${req.roomId}`);
    }
    const transport = entry.subscription.transport;
    transport.setRemoteParameters(remoteTransportParameters(offer));
    const local = transport.localParameters;
    entry.answer = withIceCredentials(entry.answer, { ufrag: local.iceUfrag, pwd: local.icePwd });
    const video = [...entry.subscription.downTracks.values()].find((d) => d.kind === 'video');
    return { offer: '', answer: entry.answer, videoCodec: video?.upTrack.codec.mimeType ?? '' };
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
      if (!entry.sdp) this.viewerEnded(roomId, created, 'consent_timeout');
      this.#deps.relays.releaseRemote(roomId, room, created.targetId);
      this.#deps.dropRoomIfEmpty(roomId, room);
    };
  }

  /** A viewer's subscription ended without its leave: whoever serves it (WHEP) must hear of it. */
  viewerEnded(roomId: RoomId, subscription: Subscription, reason: ViewerEndReason): void {
    this.#deps.emit(roomId, {
      type: 'viewerEnded',
      participantId: subscription.subscriberId,
      targetId: subscription.targetId,
      reason,
    });
  }

  setSubscriberAnswer(req: SubscriberAnswerRequest): SubscriberAnswerResponse {
    const entry = this.#deps.room(req.roomId).subscriptions.get(`${req.participantId}>${req.targetId}`);
    if (!entry) throw new SfuError('not_found', `no subscription of ${req.participantId} to ${req.targetId}`);
    if (!entry.sdp)
      throw new SfuError('invalid_state', `the subscription of ${req.participantId} answered its own offer`);
    const room = this.#deps.room(req.roomId);
    const answer = parseSubscriberAnswer(req.sdp, entry.sdp);
    entry.subscription.answered();
    entry.subscription.transport.setRemoteParameters(answer.remote);
    entry.subscription.useRtx(answer.rtxSsrcs);
    entry.subscription.acceptExtensions(answer.acceptedExtensions);
    entry.subscription.receiveCodecs = answer.receiveCodecs;
    room.codecs.learnAnswer(
      req.participantId,
      answer.receiveCodecs,
      answer.refused.map((t) => t.mimeType),
    );
    if (answer.dataChannels)
      this.#deps.data.attachSubscription(room, entry.subscription, answer.dataChannels);
    // A refused camera is replaced by its backup, the publisher's own or its proxy's (relayed).
    const source: Source | undefined = room.publishers.get(req.targetId) ?? room.remotes.get(req.targetId);
    const replaced = offerWithoutRefused(
      entry,
      new Set(answer.refused.map((t) => t.mid)),
      (event) => this.#deps.emit(req.roomId, event),
      {
        tracks: source?.tracks.values() ?? [],
        decodes: room.codecs.decoder(req.participantId),
      },
    );
    return {
      refusedTracks: answer.refused
        .filter((t) => !replaced.has(t.mid))
        .map(({ trackId, kind, mimeType }) => ({ trackId, kind, mimeType })),
    };
  }
}
