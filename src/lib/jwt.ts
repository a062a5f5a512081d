import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HS256 JSON Web Tokens (RFC 7519). Access and refresh tokens use the Waterbus format, claims
 * `{ id: "<userId>", exp: <unix seconds> }`, plus `tv`, the user's token version (a token without
 * it counts as version 0). Verification allows `LEEWAY_S` of clock skew, as the original did.
 */
const LEEWAY_S = 60;
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface TokenClaims {
  id: string;
  exp: number;
  /** The user's token version when the token was issued (users.token_version). */
  tv?: number;
}

export type VerifyFailure = { ok: false; reason: 'malformed' | 'signature' | 'expired' };
export type VerifyResult = { ok: true; claims: TokenClaims } | VerifyFailure;
export type JwtResult = { ok: true; claims: Record<string, unknown> & { exp: number } } | VerifyFailure;

/** Signs any claims object (callers put `exp` in it). */
export function signJwt(claims: object, secret: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url');
  return `${HEADER}.${payload}.${signature}`;
}

export function signToken(claims: TokenClaims, secret: string): string {
  return signJwt(claims, secret);
}

/** Checks the signature (HS256 only), that the payload is an object with a numeric `exp`, and `exp`. */
export function verifyJwt(token: string, secret: string, nowMs: number = Date.now()): JwtResult {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 4096) return { ok: false, reason: 'malformed' };
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature' };
  const head = parseJson(header);
  if (head?.alg !== 'HS256') return { ok: false, reason: 'malformed' };
  const claims = parseJson(payload);
  if (!claims || typeof claims.exp !== 'number') return { ok: false, reason: 'malformed' };
  if (claims.exp + LEEWAY_S < nowMs / 1000) return { ok: false, reason: 'expired' };
  return { ok: true, claims: claims as Record<string, unknown> & { exp: number } };
}

export function verifyToken(token: string, secret: string, nowMs: number = Date.now()): VerifyResult {
  const result = verifyJwt(token, secret, nowMs);
  if (!result.ok) return result;
  const { id, exp, tv } = result.claims;
  if (typeof id !== 'string' && typeof id !== 'number') return { ok: false, reason: 'malformed' };
  // A token issued before token versions existed has no `tv`: it is version 0.
  if (tv !== undefined && !(Number.isSafeInteger(tv) && (tv as number) >= 0))
    return { ok: false, reason: 'malformed' };
  return { ok: true, claims: { id: String(id), exp, tv: (tv as number | undefined) ?? 0 } };
}

export interface UserToken {
  userId: number;
  tokenVersion: number;
}

/**
 * The user id and token version of a `Bearer <jwt>` value (a bare token is accepted too, as
 * Waterbus does); undefined unless it is validly signed, unexpired and names a positive id.
 */
export function readUserToken(raw: string | undefined, secret: string): UserToken | undefined {
  if (!raw) return undefined;
  const token = raw.startsWith('Bearer ') ? raw.slice(7).trim() : raw.trim();
  const result = verifyToken(token, secret);
  if (!result.ok) return undefined;
  const userId = Number(result.claims.id);
  if (!Number.isSafeInteger(userId) || userId <= 0) return undefined;
  return { userId, tokenVersion: result.claims.tv ?? 0 };
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Compares two secrets in constant time (for the X-API-Key check). */
export function secretsEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
