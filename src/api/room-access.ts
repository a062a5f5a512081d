import { ParticipantId, RoomId, type UserId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { EvictionReason, RoomBroadcaster } from '../protocol/room-broadcaster.ts';
import type { RoomGrant } from '../store/join-token-user.ts';
import type { Room, Store } from '../store/types.ts';
import { HttpError } from './http-errors.ts';
import { verifyPassword } from './passwords.ts';
import type { RoomPasswordGuard } from './room-password-guard.ts';

/**
 * Who may enter a room, and ending a user's access. Members join freely. Anyone else must first
 * have opened the room by its code (`GET /rooms/{code}` records a grant: room ids are sequential
 * and must not be enough), then give the password when the room has one, throttled per user and
 * per room.
 */

export const OPEN_BY_CODE_FIRST = 'Open the room by its code first';
export const WRONG_PASSWORD = 'Password is not correct';
export const TOO_MANY_TRIES = 'Too many wrong passwords: try again later';

export interface RoomAccessDeps {
  store: Store;
  guard: RoomPasswordGuard;
  broadcaster: RoomBroadcaster;
  logger: Logger;
}

/**
 * Throws 403 (no grant), 401 (wrong password) or 429 (throttled) unless the user may join. A join
 * token for this room is a grant and a password in one: the backend that minted it decided.
 */
export async function requireJoinAccess(
  deps: RoomAccessDeps,
  room: Room,
  userId: UserId,
  attempt: { password: string | null | undefined; ip: string; grant: RoomGrant | undefined },
): Promise<void> {
  const { store, logger } = deps;
  if (attempt.grant?.roomId === room.id) return;
  if (await store.members.find(room.id, userId)) return;
  if (!(await store.grants.exists(room.id, userId))) {
    logger.warn({ userId, roomId: room.id, ip: attempt.ip }, 'room join without its code refused');
    throw new HttpError(403, `${OPEN_BY_CODE_FIRST} (GET /rooms/{code})`);
  }
  if (room.passwordHash !== null) await checkPassword(deps, room.id, room.passwordHash, userId, attempt);
}

async function checkPassword(
  deps: RoomAccessDeps,
  roomId: number,
  passwordHash: string,
  userId: UserId,
  attempt: { password: string | null | undefined; ip: string },
): Promise<void> {
  const { guard, logger } = deps;
  const fields = { userId, roomId, ip: attempt.ip };
  const waitMs = guard.retryAfterMs(userId, roomId);
  // One check at a time per user: parallel tries would all pass the throttle before any failed.
  if (waitMs > 0 || !guard.begin(userId, roomId)) {
    logger.warn({ ...fields, retryAfterMs: waitMs }, 'room password attempt throttled');
    throw tooManyTries(waitMs);
  }
  try {
    if (attempt.password && (await verifyPassword(attempt.password, passwordHash))) {
      guard.succeeded(userId, roomId);
      return;
    }
    const imposedMs = guard.failed(userId, roomId);
    logger.warn({ ...fields, retryAfterMs: imposedMs }, 'wrong room password');
    // The failure that starts a wait already answers 429, so the client learns how long.
    if (imposedMs > 0) throw tooManyTries(imposedMs);
    throw new HttpError(401, WRONG_PASSWORD);
  } finally {
    guard.end(userId, roomId);
  }
}

function tooManyTries(waitMs: number): HttpError {
  return new HttpError(429, TOO_MANY_TRIES, { retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) });
}

/**
 * Ends a user's access to a room after their membership went (removed or left): their participant
 * rows and their code grant are deleted, and their sockets in the room are taken out.
 */
export async function endRoomAccess(
  deps: Pick<RoomAccessDeps, 'store' | 'broadcaster'>,
  roomId: number,
  userId: UserId,
  reason: EvictionReason,
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.participants.deleteForUser(roomId, userId);
    await tx.grants.remove(roomId, userId);
  });
  deps.broadcaster.evictUser(RoomId(roomId), userId, reason);
}

/**
 * One participant per user and room: a join deletes the user's older rows and takes out the
 * socket that held one (the client then publishes as the new participant).
 */
export async function replaceOlderParticipants(
  deps: Pick<RoomAccessDeps, 'store' | 'broadcaster'>,
  roomId: number,
  userId: UserId,
  newId: number,
): Promise<void> {
  const deleted = await deps.store.participants.deleteForUser(roomId, userId, { exceptId: newId });
  if (deleted.length > 0)
    deps.broadcaster.evictUser(RoomId(roomId), userId, 'replaced', ParticipantId(newId));
}
