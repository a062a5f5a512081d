import { signJwt, verifyJwt } from './jwt.ts';

/**
 * Join tokens, after LiveKit's AccessToken: an HS256 JWT that the operator's backend mints with
 * the server-only secret (AUTH_IDENTITY_SECRET) for one identity and one room, claims
 * `{ sub: <identity>, name?, video: { roomJoin: true, room: <code>, canPublish, canSubscribe,
 * canPublishData, hidden, roomAdmin }, iat, exp }`. The holder presents it like an access token.
 */

export interface JoinGrants {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** Not announced to the other participants. */
  hidden: boolean;
  /** May change the room and remove members, as its host. */
  roomAdmin: boolean;
}

export interface JoinClaims {
  /** The user's externalId: the user is created on first use, as POST /auth does. */
  identity: string;
  name: string | undefined;
  /** The room's code. */
  room: string;
  grants: JoinGrants;
  exp: number;
}

/** Default lifetime of a join token (10 minutes) and the longest allowed (24 hours). */
export const DEFAULT_JOIN_TOKEN_TTL_S = 600;
export const MAX_JOIN_TOKEN_TTL_S = 86_400;
const CLOCK_SKEW_S = 60;
const MAX_IDENTITY_LENGTH = 100;
const MAX_NAME_LENGTH = 255;
const MAX_ROOM_LENGTH = 50;

export const DEFAULT_GRANTS: JoinGrants = {
  canPublish: true,
  canSubscribe: true,
  canPublishData: true,
  hidden: false,
  roomAdmin: false,
};

export function mintJoinToken(
  token: { identity: string; name?: string | undefined; room: string; grants: JoinGrants; ttlS: number },
  secret: string,
  nowMs: number = Date.now(),
): string {
  const iat = Math.floor(nowMs / 1000);
  const name = token.name === undefined ? {} : { name: token.name };
  const video = { roomJoin: true, room: token.room, ...token.grants };
  return signJwt({ sub: token.identity, ...name, video, iat, exp: iat + token.ttlS }, secret);
}

export type JoinTokenResult =
  | { ok: true; claims: JoinClaims }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'not a join token' | 'ttl too long' };

/** Checks signature, expiry, the longest lifetime and the claims' shape. */
export function verifyJoinToken(token: string, secret: string, nowMs: number = Date.now()): JoinTokenResult {
  const result = verifyJwt(token, secret, nowMs);
  if (!result.ok) return result;
  const claims = readClaims(result.claims);
  if (!claims) return { ok: false, reason: 'not a join token' };
  // A token valid for longer than the longest lifetime was not minted by this server's rules.
  if (claims.exp > nowMs / 1000 + MAX_JOIN_TOKEN_TTL_S + CLOCK_SKEW_S)
    return { ok: false, reason: 'ttl too long' };
  return { ok: true, claims };
}

function readClaims(raw: Record<string, unknown> & { exp: number }): JoinClaims | undefined {
  const { sub, name, video } = raw;
  if (!isText(sub, MAX_IDENTITY_LENGTH)) return undefined;
  if (name !== undefined && !isText(name, MAX_NAME_LENGTH)) return undefined;
  if (typeof video !== 'object' || video === null) return undefined;
  const v = video as Record<string, unknown>;
  if (v.roomJoin !== true || !isText(v.room, MAX_ROOM_LENGTH)) return undefined;
  const grants = { ...DEFAULT_GRANTS };
  for (const key of Object.keys(DEFAULT_GRANTS) as Array<keyof JoinGrants>) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'boolean') return undefined;
    grants[key] = v[key];
  }
  return { identity: sub, name: name as string | undefined, room: v.room, grants, exp: raw.exp };
}

function isText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength;
}
