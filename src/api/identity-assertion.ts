import { z } from 'zod';
import { signJwt, verifyJwt } from '../lib/jwt.ts';
import { HttpError } from './http-errors.ts';

/**
 * Identity assertions of the strict login mode (AUTH_LOGIN_MODE=strict): an HS256 JWT that the
 * operator's backend mints with AUTH_IDENTITY_SECRET (a server-only secret, never shipped in a
 * client) after it authenticated the user, claims `{ externalId, fullName?, exp }`. POST /auth
 * takes it as `Authorization: Bearer <jwt>` and logs in the user it names.
 */

/** An assertion may live at most this long (its `exp` at most this far ahead, plus clock skew). */
export const MAX_IDENTITY_TTL_S = 600;
const CLOCK_SKEW_S = 60;

export const STRICT_LOGIN_REFUSED =
  'Login with an externalId alone is disabled (AUTH_LOGIN_MODE=strict): send an identity assertion ' +
  'signed with AUTH_IDENTITY_SECRET as Authorization: Bearer <jwt>';

const identityClaims = z.object({
  externalId: z.string().min(1).max(100),
  fullName: z.string().min(1).max(255).optional(),
  exp: z.number().int(),
});

export type IdentityClaims = z.infer<typeof identityClaims>;

/** The verified identity of an `Authorization` header; 403 without one, 401 when it is not valid. */
export function verifyIdentityAssertion(
  header: string | undefined,
  secret: string,
  nowMs: number = Date.now(),
): IdentityClaims {
  if (!header?.startsWith('Bearer ')) throw new HttpError(403, STRICT_LOGIN_REFUSED);
  const result = verifyJwt(header.slice(7).trim(), secret, nowMs);
  if (!result.ok) throw new HttpError(401, `Invalid identity assertion (${result.reason})`);
  const claims = identityClaims.safeParse(result.claims);
  if (!claims.success)
    throw new HttpError(401, 'Invalid identity assertion (expected claims externalId and exp)');
  // A long-lived assertion is a password in all but name: refuse it.
  if (claims.data.exp > nowMs / 1000 + MAX_IDENTITY_TTL_S + CLOCK_SKEW_S) {
    throw new HttpError(401, `Invalid identity assertion (exp more than ${MAX_IDENTITY_TTL_S} s ahead)`);
  }
  return claims.data;
}

/** Mints an assertion (what the operator's backend does; `bbmeet identity-token` for tests). */
export function mintIdentityAssertion(
  identity: { externalId: string; fullName?: string | undefined; ttlS: number },
  secret: string,
  nowMs: number = Date.now(),
): string {
  const exp = Math.floor(nowMs / 1000) + identity.ttlS;
  const fullName = identity.fullName === undefined ? {} : { fullName: identity.fullName };
  return signJwt({ externalId: identity.externalId, ...fullName, exp }, secret);
}
