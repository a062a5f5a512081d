import { z } from 'zod';
import { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import type { EvictionReason } from '../protocol/room-broadcaster.ts';
import type { ParticipantEntry } from './participant-directory.ts';
import { PeerCommand } from './peer-command.ts';
import type { AnySession } from './session.ts';
import type { SignallingContext } from './signalling-context.ts';

const MESSAGES: Record<EvictionReason, string> = {
  removed: 'you were removed from this room',
  ended: 'this room was ended',
  left: 'you left this room',
  replaced: 'this participant was replaced by a newer join of your account',
};

const evictCommand = z
  .object({
    roomId: z.string().max(20).transform(RoomId),
    userId: z.number().int().positive().transform(UserId).optional(),
    /** One participant (an operator's removal) rather than every participant of the user. */
    participantId: z.string().max(20).transform(ParticipantId).optional(),
    reason: z.enum(['removed', 'left', 'replaced', 'ended']),
    keep: z.string().max(20).transform(ParticipantId).optional(),
  })
  // Why: a command naming neither would match no one; it is dropped as malformed.
  .refine((m) => m.participantId !== undefined || m.userId !== undefined);
type EvictCommand = z.infer<typeof evictCommand>;

function isEvicted(cmd: EvictCommand, entry: ParticipantEntry): boolean {
  const chosen =
    cmd.participantId !== undefined ? entry.participantId === cmd.participantId : entry.userId === cmd.userId;
  return chosen && entry.participantId !== cmd.keep;
}

/**
 * Takes a user's participants out of a room when REST ends their access (membership removed or
 * left, or a newer join replacing them). Each socket is told with a `system.error`
 * `{event: 'room.removed', code: 'permission_denied'}` before it leaves, then goes through the
 * usual leave flow (SFU leave, `room.participant_left` to the others, row deleted). In a cluster
 * the request goes to every signalling instance, since the socket may be held by any of them.
 */
export class Evictions {
  readonly #ctx: SignallingContext;
  readonly #command: PeerCommand<EvictCommand>;

  constructor(ctx: SignallingContext, options: { clustered: boolean }) {
    this.#ctx = ctx;
    this.#command = new PeerCommand(ctx, options, {
      event: 'bbmeet:evict-user',
      schema: evictCommand,
      targets: isEvicted,
      apply: (cmd, entry, session) => this.#evict(entry, cmd.reason, session),
      failedMessage: 'eviction failed',
    });
  }

  /** Takes one participant out of its room (an operator's removal), on whichever instance holds it. */
  evictParticipant(roomId: RoomId, participantId: ParticipantId, reason: EvictionReason): void {
    this.#command.send({ roomId, participantId, reason });
  }

  evictUser(roomId: RoomId, userId: UserId, reason: EvictionReason, keep?: ParticipantId): void {
    this.#command.send({ roomId, userId, reason, keep });
  }

  async #evict(entry: ParticipantEntry, reason: EvictionReason, session: AnySession): Promise<void> {
    this.#ctx.log.info(
      { participantId: entry.participantId, userId: entry.userId, reason },
      'participant evicted',
    );
    session.endpoint.emit('system.error', {
      event: 'room.removed',
      code: 'permission_denied',
      message: MESSAGES[reason],
    });
    await this.#ctx.leave(session, { keepRow: false });
  }
}
