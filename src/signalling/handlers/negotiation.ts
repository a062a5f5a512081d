import { requirePublishGrant } from '../grants.ts';
import {
  publisherCandidateSchema,
  publisherRenegotiationSchema,
  subscriberCandidateSchema,
} from '../messages.ts';
import { ConnectionType } from '../participant-directory.ts';
import { handler } from './handler.ts';

/** `room.publisher_renegotiation`: a new publisher offer (e.g. screen share added). */
export const publisherRenegotiation = handler({
  event: 'room.publisher_renegotiation',
  schema: publisherRenegotiationSchema,
  async run(ctx, session, p) {
    const self = ctx.requireEntry(session, p.roomId);
    requirePublishGrant(session, p.sdp);
    if (p.connectionType === ConnectionType.P2P) {
      self.p2pOffer = p.sdp;
      // Waterbus relays P2P renegotiations with an empty targetId: the client has exactly one peer.
      ctx.broadcast(p.roomId, 'room.subscriber_renegotiation', { targetId: '', sdp: p.sdp }, session.id);
      return {};
    }
    const res = await ctx.sfu.renegotiatePublisher({
      roomId: p.roomId,
      participantId: self.participantId,
      sdp: p.sdp,
    });
    ctx.webhooks?.renegotiated(self, p.sdp, res.sdp);
    session.endpoint.emit('room.publisher_renegotiation', { sdp: res.sdp });
    return res;
  },
});

/** `room.publisher_candidate`: an ICE candidate of the caller's publisher connection. */
export const publisherCandidate = handler({
  event: 'room.publisher_candidate',
  schema: publisherCandidateSchema,
  async run(ctx, session, p) {
    const self = ctx.requireEntry(session, p.roomId);
    if (p.connectionType === ConnectionType.P2P) {
      ctx.broadcast(
        p.roomId,
        'room.subscriber_candidate',
        { targetId: '', candidate: p.candidate },
        session.id,
      );
      return {};
    }
    await ctx.sfu.addPublisherCandidate({
      roomId: p.roomId,
      participantId: self.participantId,
      candidate: p.candidate,
    });
    return {};
  },
});

/** `room.subscriber_candidate`: an ICE candidate of the caller's connection subscribing to targetId. */
export const subscriberCandidate = handler({
  event: 'room.subscriber_candidate',
  schema: subscriberCandidateSchema,
  async run(ctx, session, p) {
    const self = ctx.requireEntry(session, p.roomId);
    if (p.connectionType === ConnectionType.P2P) {
      // The publisher side of a P2P pair receives the bare (flat) candidate object.
      ctx.broadcast(p.roomId, 'room.publisher_candidate', { ...p.candidate }, session.id);
      return {};
    }
    await ctx.sfu.addSubscriberCandidate({
      roomId: p.roomId,
      participantId: self.participantId,
      targetId: p.targetId,
      candidate: p.candidate,
    });
    return {};
  },
});
