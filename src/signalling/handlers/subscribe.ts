import { SfuError } from '../../lib/errors.ts';
import { mayPublishData, requireSubscribeGrant } from '../grants.ts';
import { answerSubscriberSchema, subscribeSchema } from '../messages.ts';
import { ConnectionType } from '../participant-directory.ts';
import { handler } from './handler.ts';

/**
 * `room.subscribe`: the caller wants `targetId`'s media. The reply `room.answer_subscriber` carries
 * an offer (from the SFU, or the target's own offer in P2P mode) and the target's media state.
 */
export const subscribe = handler({
  event: 'room.subscribe',
  schema: subscribeSchema,
  async run(ctx, session, p) {
    requireSubscribeGrant(session);
    const self = ctx.requireEntry(session, p.roomId);
    if (self.participantId !== p.participantId) {
      throw new SfuError('permission_denied', 'participantId must be your own participant');
    }
    const target = ctx.directory.get(p.targetId) ?? (await ctx.remotePublisher(p.roomId, p.targetId));
    if (!target || target.roomId !== p.roomId) {
      throw new SfuError('not_found', `participant ${p.targetId} is not publishing in room ${p.roomId}`);
    }
    let offer: string;
    let videoCodec = '';
    if (target.connectionType === ConnectionType.P2P) {
      if (!target.p2pOffer) throw new SfuError('invalid_state', `participant ${p.targetId} has no offer yet`);
      offer = target.p2pOffer;
    } else {
      const res = await ctx.sfu.subscribe({
        roomId: p.roomId,
        participantId: p.participantId,
        targetId: p.targetId,
        canPublishData: mayPublishData(session),
      });
      offer = res.offer;
      videoCodec = res.videoCodec;
    }
    const state = target.mediaState;
    const reply = {
      targetId: p.targetId,
      offer,
      cameraType: state.cameraType,
      videoEnabled: state.videoEnabled,
      audioEnabled: state.audioEnabled,
      isScreenSharing: state.screenSharing,
      isHandRaising: state.handRaising,
      isE2eeEnabled: state.e2eeEnabled,
      videoCodec,
      screenTrackId: state.screenTrackId,
      connectionType: target.connectionType,
    };
    session.endpoint.emit('room.answer_subscriber', reply);
    return reply;
  },
});

/**
 * `room.answer_subscriber`: the subscriber's answer. SFU mode: applied to the server's offer.
 * P2P mode: relayed to the room as `room.publish` (the publisher's remote answer).
 */
export const answerSubscriber = handler({
  event: 'room.answer_subscriber',
  schema: answerSubscriberSchema,
  async run(ctx, session, p) {
    requireSubscribeGrant(session);
    const self = ctx.requireEntry(session, p.roomId);
    if (p.connectionType === ConnectionType.P2P) {
      ctx.broadcast(p.roomId, 'room.publish', { sdp: p.sdp, isRecording: false }, session.id);
      return {};
    }
    const applied = await ctx.sfu.setSubscriberAnswer({
      roomId: p.roomId,
      participantId: self.participantId,
      targetId: p.targetId,
      sdp: p.sdp,
    });
    for (const track of applied.refusedTracks) {
      ctx.log.info(
        { roomId: p.roomId, participantId: self.participantId, targetId: p.targetId, ...track },
        'subscriber cannot decode a track',
      );
      // The rest of the subscription works; a system.error (which Waterbus clients ignore) tells
      // the subscriber why this track stays blank instead of a silent black tile.
      session.endpoint.emit('system.error', {
        event: 'room.answer_subscriber',
        code: 'unsupported',
        message: `cannot decode ${track.mimeType} from participant ${p.targetId}`,
        targetId: p.targetId,
        trackId: track.trackId,
        kind: track.kind,
        codec: track.mimeType,
      });
    }
    return {};
  },
});
