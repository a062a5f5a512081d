import { ParticipantId, type UserId } from '../../lib/ids.ts';
import { readUserToken } from '../../lib/jwt.ts';
import { currentTokenUser } from '../../store/token-user.ts';
import type { Room, Store } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { joinTokenCaller, ROOM_SCOPED } from '../join-token-auth.ts';

/**
 * Who may watch a participant over WHEP (`Authorization: Bearer <token>`, no API key: a player
 * only carries a token): an access token of a user allowed in the room (a member, a participant
 * of it, or a holder of its code grant when it has no password), or a join token for the room
 * with `canSubscribe`. 401 without a valid token, 404 for an unknown room or participant, 403
 * when the token's user may not watch. `targets`: the participant named, or (none named: follow
 * the active speaker) the room's publishing participants to start from.
 */
export async function whepViewer(
  deps: Pick<ApiDeps, 'store' | 'auth'>,
  header: string | undefined,
  params: { roomId: string; participantId?: string | undefined },
): Promise<{ userId: UserId; targets: ParticipantId[] }> {
  const { store } = deps;
  const token = readUserToken(header?.startsWith('Bearer ') ? header : undefined, deps.auth.jwtSecret);
  const user = token && (await currentTokenUser(store.users, token));
  const joined = user ? undefined : await joinTokenCaller(header, deps.auth.identitySecret, store);
  if (!user && !joined) throw new HttpError(401, 'Invalid token');
  const room = await store.rooms.findById(Number(params.roomId));
  if (!room) throw new HttpError(404, 'Room not found');
  if (joined) {
    if (joined.grant.roomId !== room.id)
      throw new HttpError(403, `${ROOM_SCOPED} (${joined.grant.roomCode})`);
    if (!joined.grant.grants.canSubscribe) throw new HttpError(403, 'This token may not subscribe');
  } else if (!(await mayWatch(store, room, user!.id))) {
    throw new HttpError(403, 'Not allowed in this room');
  }
  const userId = joined ? joined.user.id : user!.id;
  if (params.participantId === undefined) return { userId, targets: await publishing(store, room) };
  const target = await store.participants.findById(Number(params.participantId));
  // A hidden participant (join token grant) is invisible to the others: not watchable either.
  if (!target || target.roomId !== room.id || target.deletedAt !== null || target.hidden)
    throw new HttpError(404, 'Participant not found in this room');
  return { userId, targets: [ParticipantId(target.id)] };
}

/** The room's visible participants that published (first joined first); 404 when there is none. */
async function publishing(store: Store, room: Room): Promise<ParticipantId[]> {
  const rows = await store.participants.listByRoom(room.id, { publishingOnly: true });
  const visible = rows.filter((p) => !p.hidden && p.deletedAt === null).map((p) => ParticipantId(p.id));
  if (visible.length === 0) throw new HttpError(404, 'Nobody publishes in this room');
  return visible;
}

async function mayWatch(store: Store, room: Room, userId: UserId): Promise<boolean> {
  if (await store.members.find(room.id, userId)) return true;
  // A participant of the room got in (code, password) already.
  const participants = await store.participants.listByRoom(room.id);
  if (participants.some((p) => p.userId === userId)) return true;
  // The code grant alone opens a room without password (the password is not sent over WHEP).
  return room.passwordHash === null && (await store.grants.exists(room.id, userId));
}
