import { z } from 'zod';
import { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import type { EvictionReason } from '../protocol/room-broadcaster.ts';
import type { ParticipantEntry } from './participant-directory.ts';
import { onPeerEvent } from './peer-events.ts';
import type { SignallingContext } from './signalling-context.ts';

/** Sent to the other signalling instances of a cluster (serverSideEmit, relayed by the adapter). */
const EVICT_EVENT = 'bbmeet:evict-user';

const MESSAGES: Record<EvictionReason, string> = {
  removed: 'you were removed from this room',
  ended: 'this room was ended',
  left: 'you left this room',
  replaced: 'this participant was replaced by a newer join of your account',
};

const evictMessage = z.object({
  roomId: z.string().max(20),
  userId: z.number().int().positive().optional(),
  /** One participant (an operator's removal) rather than every participant of the user. */
  participantId: z.string().max(20).optional(),
  reason: z.enum(['removed', 'left', 'replaced', 'ended']),
  keep: z.string().max(20).optional(),
});

/**
 * Takes a user's participants out of a room when REST ends their access (membership removed or
 * left, or a newer join replacing them). Each socket is told with a `system.error`
 * `{event: 'room.removed', code: 'permission_denied'}` before it leaves, then goes through the
 * usual leave flow (SFU leave, `room.participant_left` to the others, row deleted). In a cluster
 * the request goes to every signalling instance, since the socket may be held by any of them.
 */
export class Evictions {
  readonly #ctx: SignallingContext;
  readonly #clustered: boolean;

  constructor(ctx: SignallingContext, options: { clustered: boolean }) {
    this.#ctx = ctx;
    this.#clustered = options.clustered;
    if (this.#clustered) {
      onPeerEvent(ctx.io, EVICT_EVENT, (msg) => this.#onRemote(msg));
    }
  }

  /** Takes one participant out of its room (an operator's removal), on whichever instance holds it. */
  evictParticipant(roomId: RoomId, participantId: ParticipantId, reason: EvictionReason): void {
    this.#evictHere(roomId, { participantId }, reason);
    if (this.#clustered) this.#ctx.io.serverSideEmit(EVICT_EVENT, { roomId, participantId, reason });
  }

  #onRemote(msg: unknown): void {
    const parsed = evictMessage.safeParse(msg);
    if (!parsed.success) return;
    const { roomId, userId, participantId, reason, keep } = parsed.data;
    const who =
      participantId !== undefined
        ? { participantId: ParticipantId(participantId) }
        : userId !== undefined
          ? { userId: UserId(userId) }
          : undefined;
    if (!who) return;
    this.#evictHere(RoomId(roomId), who, reason, keep === undefined ? undefined : ParticipantId(keep));
  }

  evictUser(roomId: RoomId, userId: UserId, reason: EvictionReason, keep?: ParticipantId): void {
    this.#evictHere(roomId, { userId }, reason, keep);
    if (this.#clustered) this.#ctx.io.serverSideEmit(EVICT_EVENT, { roomId, userId, reason, keep });
  }

  #evictHere(
    roomId: RoomId,
    who: { userId?: UserId; participantId?: ParticipantId },
    reason: EvictionReason,
    keep?: ParticipantId,
  ): void {
    for (const entry of this.#ctx.directory.inRoom(roomId)) {
      const chosen =
        who.participantId !== undefined
          ? entry.participantId === who.participantId
          : entry.userId === who.userId;
      if (!chosen || entry.participantId === keep) continue;
      // Fire and forget: REST has already ended the access in the store; a failure here only
      // leaves a socket that every later check refuses, so it is logged.
      this.#evict(entry, reason).catch((err: unknown) =>
        this.#ctx.log.warn({ err, roomId, participantId: entry.participantId }, 'eviction failed'),
      );
    }
  }

  async #evict(entry: ParticipantEntry, reason: EvictionReason): Promise<void> {
    const session = this.#ctx.sessions.get(entry.socketId);
    if (!session) return;
    await session.run(async () => {
      // The session may have left or taken another participant while this waited its turn.
      if (session.participant?.participantId !== entry.participantId) return;
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
    });
  }
}
