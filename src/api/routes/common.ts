import { z } from 'zod';
import type { UserId } from '../../lib/ids.ts';
import type { RoomGrant } from '../../store/join-token-user.ts';
import { MemberRole, type Room, type Store, type User } from '../../store/types.ts';
import { HttpError } from '../http-errors.ts';

/** Schemas and look-ups shared by the route files. */

/** Ids are PostgreSQL `int` (SERIAL) columns. */
export const MAX_DB_ID = 2_147_483_647;

/** A database id in a path segment: `/rooms/12`. */
export const pathId = z.coerce.number().int().positive().max(MAX_DB_ID);

/** A database id in a JSON body: an integer, or a decimal string (clients send either). */
export const bodyId = z
  .union(
    [
      z.int(),
      z
        .string()
        .regex(/^\d{1,10}$/)
        .transform(Number),
    ],
    {
      error: 'expected a positive integer id',
    },
  )
  .pipe(z.int().positive().max(MAX_DB_ID));

/** `?skip&limit` of the list routes (Waterbus defaults 0 and 10; at most 100 per page). */
export const pageQuery = z.object({
  skip: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

export const roomIdParams = z.object({ roomId: pathId });

export function userNotFound(id: number): HttpError {
  return new HttpError(404, `User with ID ${id} not found`);
}

/** The caller's (or a target's) user row; 404 when the token names a user that no longer exists. */
export async function requireUser(store: Store, id: UserId): Promise<User> {
  const user = await store.users.findById(id);
  if (!user) throw userNotFound(id);
  return user;
}

export async function requireRoom(store: Store, id: number): Promise<Room> {
  const room = await store.rooms.findById(id);
  if (!room) throw new HttpError(404, `Room with ID ${id} not found`);
  return room;
}

export const ONLY_HOST = 'Only the host has permission';

/**
 * 403 unless the caller is the room's owner or holds a join token with `roomAdmin` for it (checked
 * before anything about other users).
 */
export async function requireOwner(
  store: Store,
  room: Room,
  userId: UserId,
  grant?: RoomGrant | undefined,
): Promise<void> {
  if (grant?.roomId === room.id && grant.grants.roomAdmin) return;
  const member = await store.members.find(room.id, userId);
  if (member?.role !== MemberRole.Owner) throw new HttpError(403, ONLY_HOST);
}
