import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HS256 JSON Web Tokens in the Waterbus format: claims `{ id: "<userId>", exp: <unix seconds> }`
 * (RFC 7519). Verification allows `LEEWAY_S` of clock skew, as the original did.
 */
const LEEWAY_S = 60;
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface TokenClaims {
  id: string;
  exp: number;
}

export function signToken(claims: TokenClaims, secret: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url');
  return `${HEADER}.${payload}.${signature}`;
}

export type VerifyResult =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

export function verifyToken(token: string, secret: string, nowMs: number = Date.now()): VerifyResult {
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
  if (
    !claims ||
    typeof claims.exp !== 'number' ||
    (typeof claims.id !== 'string' && typeof claims.id !== 'number')
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.exp + LEEWAY_S < nowMs / 1000) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { id: String(claims.id), exp: claims.exp } };
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
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
