import type { FastifyRequest } from 'fastify';
import type { UserId } from '../lib/ids.ts';
import { readUserToken } from '../lib/jwt.ts';
import type { RoomGrant } from '../store/join-token-user.ts';
import { currentTokenUser } from '../store/token-user.ts';
import type { Room, Store } from '../store/types.ts';
import type { AuthOptions } from './deps.ts';
import { HttpError } from './http-errors.ts';
import { type IceServerOptions, iceServersFor } from './ice-servers.ts';
import { joinTokenCaller, ROOM_SCOPED } from './join-token-auth.ts';

/**
 * Who may publish into a room over WHIP (RFC 9725 §4.5: a Bearer token, no API key: broadcast
 * tools send nothing else), and the ICE servers it is told about (§4.6).
 */

export interface WhipCaller {
  userId: UserId;
  /** Set for a join token: its room and grants. */
  grant: RoomGrant | undefined;
}

/**
 * The caller of `Authorization: Bearer <token>`: a current access token, or a join token of
 * `roomId`. 401 for a missing, wrong, expired or revoked token; 403 for another room's join token.
 */
export async function whipCaller(
  request: FastifyRequest,
  deps: { store: Store; auth: Pick<AuthOptions, 'jwtSecret' | 'identitySecret'> },
  roomId: number,
): Promise<WhipCaller> {
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) throw new HttpError(401, 'Missing bearer token');
  const token = readUserToken(header, deps.auth.jwtSecret);
  const user = token && (await currentTokenUser(deps.store.users, token));
  if (user) return { userId: user.id, grant: undefined };
  const joined = await joinTokenCaller(header, deps.auth.identitySecret, deps.store);
  if (!joined) throw new HttpError(401, 'Invalid token');
  if (joined.grant.roomId !== roomId) throw new HttpError(403, `${ROOM_SCOPED} (${joined.grant.roomCode})`);
  return { userId: joined.user.id, grant: joined.grant };
}

/**
 * 403 unless the caller may publish in the room: a join token of the room with `canPublish`, a
 * member, or a user who opened the room by its code when it has no password (a password is for
 * people: a broadcast tool gets a join token or a membership instead).
 */
export async function requireWhipPublisher(store: Store, room: Room, caller: WhipCaller): Promise<void> {
  if (caller.grant) {
    if (!caller.grant.grants.canPublish) throw new HttpError(403, 'This token may not publish');
    return;
  }
  if (await store.members.find(room.id, caller.userId)) return;
  if (room.passwordHash === null && (await store.grants.exists(room.id, caller.userId))) return;
  throw new HttpError(
    403,
    'Not allowed in this room: a member, or a join token with canPublish, may publish',
  );
}

/**
 * `Link` values of the ICE servers (RFC 9725 §4.6), one per URL, TURN with its time-limited
 * credential (RFC 8489 §9.2 `credential-type="password"`).
 */
export function iceServerLinks(
  options: IceServerOptions | undefined,
  userId: UserId,
  nowMs: number,
): string[] {
  if (!options) return [];
  return iceServersFor(options, String(userId), nowMs).flatMap((server) =>
    server.urls.map((url) => {
      const credential =
        server.username !== undefined && server.credential !== undefined
          ? `; username="${server.username}"; credential="${server.credential}"; credential-type="password"`
          : '';
      return `<${url}>; rel="ice-server"${credential}`;
    }),
  );
}
