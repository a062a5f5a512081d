import type { FastifyRequest } from 'fastify';
import { verifyJoinToken } from '../lib/join-token.ts';
import { joinTokenUser, type RoomGrant } from '../store/join-token-user.ts';
import type { Store, User } from '../store/types.ts';
import { HttpError } from './http-errors.ts';

/**
 * REST side of join tokens: a `Bearer` that is not an access token may be a join token (signed
 * with AUTH_IDENTITY_SECRET); its holder acts as the token's user, in the token's room only.
 */

export const ROOM_SCOPED = 'This token is valid for one room only';

/** The user and grant of a join token; undefined when `header` holds no valid join token. */
export async function joinTokenCaller(
  header: string | undefined,
  secret: string | undefined,
  store: Store,
): Promise<{ user: User; grant: RoomGrant } | undefined> {
  if (!secret || !header?.startsWith('Bearer ')) return undefined;
  const result = verifyJoinToken(header.slice(7).trim(), secret);
  if (!result.ok) return undefined;
  return joinTokenUser(store, result.claims);
}

/**
 * 403 unless the route names the token's room: by id (`:roomId`) or by code (`:code`). Routes that
 * name no room (profiles, room lists, logout…) are not for join tokens.
 */
export function requireGrantedRoom(request: FastifyRequest, grant: RoomGrant): void {
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  const sameRoom =
    params.roomId !== undefined
      ? Number(params.roomId) === grant.roomId
      : params.code !== undefined && params.code === grant.roomCode;
  if (!sameRoom) throw new HttpError(403, `${ROOM_SCOPED} (${grant.roomCode})`);
}
