import type { FastifyRequest } from 'fastify';
import { secretsEqual } from '../lib/jwt.ts';
import type { Participant, Room, Store } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError } from './http-errors.ts';
import { joinTokenCaller } from './join-token-auth.ts';
import { BAD_SERVER_SECRET, JOIN_TOKENS_OFF } from './routes/tokens.ts';

/**
 * Who may call the admin routes (docs/admin.md): the operator's backend with the server-only
 * secret (`Authorization: Bearer <AUTH_IDENTITY_SECRET>`), as for the /admin egress routes and
 * token minting, or the holder of a join token with `roomAdmin`, for its own room only.
 */

/** The server secret's holder: every room. */
export const OPERATOR = Symbol('operator');
/** The caller: the operator, or a join token's room (its id). */
export type AdminCaller = typeof OPERATOR | { roomId: number };

export const ROOM_ADMIN_ONLY = 'This join token may not administer this room';

/** 501 without AUTH_IDENTITY_SECRET, 401 for neither the secret nor a valid join token. */
export async function adminCaller(deps: ApiDeps, request: FastifyRequest): Promise<AdminCaller> {
  const secret = deps.auth.identitySecret;
  if (!secret) throw new HttpError(501, JOIN_TOKENS_OFF);
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Bearer ') && secretsEqual(header.slice(7).trim(), secret)) return OPERATOR;
  const joined = await joinTokenCaller(header, secret, deps.store);
  if (!joined) throw new HttpError(401, BAD_SERVER_SECRET);
  // Why 403 before any look-up: a token without the grant learns nothing about rooms.
  if (!joined.grant.grants.roomAdmin) throw new HttpError(403, ROOM_ADMIN_ONLY);
  return { roomId: joined.grant.roomId };
}

/** 403 when the caller is a join token of another room. */
export function requireAdminOf(caller: AdminCaller, room: Room): void {
  if (caller !== OPERATOR && caller.roomId !== room.id) throw new HttpError(403, ROOM_ADMIN_ONLY);
}

/** A room named by its id (digits) or its code; 404 when there is none. */
export async function roomByIdOrCode(store: Store, ref: string): Promise<Room> {
  const room = /^\d{1,10}$/.test(ref)
    ? await store.rooms.findById(Number(ref))
    : await store.rooms.findByCode(ref);
  if (!room) throw new HttpError(404, `Room ${ref} not found`);
  return room;
}

/** The participant's row, which must be in `room`; 404 otherwise. */
export async function participantOf(store: Store, room: Room, participantId: number): Promise<Participant> {
  const row = await store.participants.findById(participantId);
  if (!row || row.roomId !== room.id)
    throw new HttpError(404, `Participant with ID ${participantId} not found in room ${room.id}`);
  return row;
}
