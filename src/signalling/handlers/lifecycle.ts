import { z } from 'zod';
import { SfuError } from '../../lib/errors.ts';
import { ParticipantStatus } from '../../store/types.ts';
import { isHidden } from '../grants.ts';
import { leaveSchema, reconnectSchema } from '../messages.ts';
import { ConnectionType, defaultMediaState } from '../participant-directory.ts';
import { handler } from './handler.ts';

/** `room.leave`: leave for good; the participants row is deleted. */
export const leave = handler({
  event: 'room.leave',
  schema: leaveSchema,
  async run(ctx, session, p) {
    if (p.roomId !== undefined) ctx.requireEntry(session, p.roomId);
    await ctx.leave(session, { keepRow: false });
    return {};
  },
});

/**
 * `room.reconnect`: a no-op in Waterbus. Here, with `{ roomId, participantId }`, a new socket takes
 * its participant back into the room (after a dropped connection, within the grace period) so it
 * receives room events again; media is restored by publishing again.
 */
export const reconnect = handler({
  event: 'room.reconnect',
  schema: reconnectSchema,
  async run(ctx, session, p) {
    if (p.participantId === undefined || p.roomId === undefined)
      return { restored: session.participant !== null };
    const current = session.participant;
    if (current?.participantId === p.participantId) return { restored: true };
    if (current)
      throw new SfuError('invalid_state', `this connection is already participant ${current.participantId}`);
    const row = await ctx.authoriseParticipant(session, p.participantId, p.roomId);
    if (row.status !== ParticipantStatus.Active)
      await ctx.store.participants.setStatus(row.id, ParticipantStatus.Active);
    await ctx.attach(session, {
      roomId: p.roomId,
      participantId: p.participantId,
      userId: session.userId,
      socketId: session.id,
      connectionType: ConnectionType.P2P,
      mediaState: defaultMediaState(),
      p2pOffer: null,
      hidden: isHidden(session, row),
    });
    return { restored: true };
  },
});

/** `room.subscribe_subtitle`: subtitles are not produced (as in Waterbus); accepted and ignored. */
export const subscribeSubtitle = handler({
  event: 'room.subscribe_subtitle',
  schema: z.object({ isEnabled: z.boolean() }),
  async run() {
    return {};
  },
});
