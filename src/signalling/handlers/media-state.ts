import type { MediaState } from '../../protocol/sfu-api.ts';
import { cameraTypeSchema, enabledSchema, handRaisingSchema, screenSharingSchema } from '../messages.ts';
import { ConnectionType } from '../participant-directory.ts';
import type { Session } from '../session.ts';
import type { SignallingContext } from '../signalling-context.ts';
import { type EventHandler, handler } from './handler.ts';

/**
 * Media-state toggles: stored (later subscribers get them in `room.answer_subscriber`), passed to
 * the SFU, and broadcast to the room with the sender's participantId.
 */
async function applyState(
  ctx: SignallingContext,
  session: Session,
  event: string,
  state: Partial<MediaState>,
  payload: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const self = ctx.requireEntry(session);
  Object.assign(self.mediaState, state);
  if (self.connectionType === ConnectionType.SFU) {
    await ctx.sfu.setMediaState({ roomId: self.roomId, participantId: self.participantId, state });
  }
  const message = { participantId: self.participantId, ...payload };
  if (!self.hidden) ctx.broadcast(self.roomId, event, message, session.id);
  return message;
}

export const mediaStateHandlers: EventHandler[] = [
  handler({
    event: 'room.video_enabled',
    schema: enabledSchema,
    run: (ctx, s, p) =>
      applyState(ctx, s, 'room.video_enabled', { videoEnabled: p.isEnabled }, { isEnabled: p.isEnabled }),
  }),
  handler({
    event: 'room.audio_enabled',
    schema: enabledSchema,
    run: (ctx, s, p) =>
      applyState(ctx, s, 'room.audio_enabled', { audioEnabled: p.isEnabled }, { isEnabled: p.isEnabled }),
  }),
  handler({
    event: 'room.camera_type',
    schema: cameraTypeSchema,
    run: (ctx, s, p) => applyState(ctx, s, 'room.camera_type', { cameraType: p.type }, { type: p.type }),
  }),
  handler({
    event: 'room.screen_sharing',
    schema: screenSharingSchema,
    run: (ctx, s, p) =>
      applyState(
        ctx,
        s,
        'room.screen_sharing',
        { screenSharing: p.isSharing, screenTrackId: p.isSharing ? p.screenTrackId : null },
        { isSharing: p.isSharing, screenTrackId: p.screenTrackId },
      ),
  }),
  handler({
    event: 'room.hand_raising',
    schema: handRaisingSchema,
    run: (ctx, s, p) =>
      applyState(ctx, s, 'room.hand_raising', { handRaising: p.isRaising }, { isRaising: p.isRaising }),
  }),
];
