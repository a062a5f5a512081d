import { z } from 'zod';
import { signToken } from '../../lib/jwt.ts';
import { findOrCreateUser } from '../../store/login-user.ts';
import type { Store, User } from '../../store/types.ts';
import { userJson } from '../../store/wire.ts';
import type { ApiDeps, AuthOptions } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { STRICT_LOGIN_REFUSED, verifyIdentityAssertion } from '../identity-assertion.ts';
import { presignedUpload } from '../presign.ts';
import { type RouteDef, route } from '../route.ts';

export const STORAGE_NOT_CONFIGURED =
  'File storage is not configured (set STORAGE_ACCESS_KEY_ID, STORAGE_SECRET_ACCESS_KEY and STORAGE_BUCKET_NAME)';

const loginBody = z.object({
  fullName: z.string().min(1).max(255),
  externalId: z.string().min(1).max(100),
});
/** Strict mode: the identity comes from the assertion; the body's fields are optional and ignored but fullName. */
const strictLoginBody = loginBody.partial();

export { randomUserName } from '../../store/login-user.ts';

/**
 * An access and a refresh token for the user, claims `{ id: "<userId>", exp, tv }`: `tv` is the
 * user's token version, so that a logout (which increments it) revokes both.
 */
export function issueTokens(
  auth: AuthOptions,
  user: Pick<User, 'id' | 'tokenVersion'>,
  nowMs: number = Date.now(),
) {
  const now = Math.floor(nowMs / 1000);
  const id = String(user.id);
  const tv = user.tokenVersion;
  return {
    token: signToken({ id, exp: now + auth.accessTokenTtlS, tv }, auth.jwtSecret),
    refreshToken: signToken({ id, exp: now + auth.refreshTokenTtlS, tv }, auth.refreshSecret),
  };
}

/** Waterbus login: the external id is the identity (in open mode no credential is checked, see the security notes). */
function loginOrCreate(store: Store, fullName: string | null, externalId: string): Promise<User> {
  return findOrCreateUser(store.users, { externalId, fullName });
}

function openLoginRoute({ store, auth }: ApiDeps): RouteDef {
  return route({
    method: 'POST',
    path: '/auth',
    auth: 'apiKey',
    tag: 'auth',
    summary: 'Log in (or sign up) with an external id; returns an access and a refresh token',
    body: loginBody,
    successStatus: 201,
    async handler({ body }) {
      const user = await loginOrCreate(store, body.fullName, body.externalId);
      return { ...issueTokens(auth, user), user: userJson(user, { viewerId: user.id }) };
    },
  });
}

/** AUTH_LOGIN_MODE=strict: the identity is an assertion of the operator's backend, not the body. */
function strictLoginRoute({ store, auth }: ApiDeps): RouteDef {
  return route({
    method: 'POST',
    path: '/auth',
    auth: 'apiKey',
    tag: 'auth',
    summary:
      'Log in (or sign up) with an identity assertion (Authorization: Bearer <jwt> signed with AUTH_IDENTITY_SECRET)',
    body: strictLoginBody,
    successStatus: 201,
    async handler({ body, request }) {
      const secret = auth.identitySecret;
      // The configuration refuses strict mode without a secret; this guards a hand-built AuthOptions.
      if (!secret) throw new HttpError(403, STRICT_LOGIN_REFUSED);
      const identity = verifyIdentityAssertion(request.headers.authorization, secret);
      const fullName = identity.fullName ?? body.fullName ?? null;
      const user = await loginOrCreate(store, fullName, identity.externalId);
      return { ...issueTokens(auth, user), user: userJson(user, { viewerId: user.id }) };
    },
  });
}

export function authRoutes(deps: ApiDeps): RouteDef[] {
  const { store, auth } = deps;
  return [
    auth.loginMode === 'strict' ? strictLoginRoute(deps) : openLoginRoute(deps),
    route({
      method: 'GET',
      path: '/auth',
      auth: 'refresh',
      tag: 'auth',
      summary: 'Exchange a refresh token for a new token pair',
      async handler({ userId }) {
        // The token was checked (user exists, version current); a logout may have raced since.
        const user = await store.users.findById(userId);
        if (!user) throw new HttpError(401, 'Invalid token');
        return { ...issueTokens(auth, user), user: null };
      },
    }),
    route({
      method: 'DELETE',
      path: '/auth',
      auth: 'access',
      tag: 'auth',
      summary:
        "Log out: revokes every access and refresh token of the caller and closes the caller's sockets",
      successStatus: 204,
      // The SDK's logout expects a 204. Every session of the user ends, on every device.
      async handler({ userId }) {
        await store.users.revokeTokens(userId);
        deps.broadcaster.disconnectUser(userId, 'logout');
        return undefined;
      },
    }),
    route({
      method: 'POST',
      path: '/auth/presigned-url',
      auth: 'access',
      tag: 'auth',
      summary: 'A presigned S3 PUT URL (60 s, public-read, .webp) for uploading an avatar',
      successStatus: 201,
      async handler() {
        if (!deps.storage) throw new HttpError(501, STORAGE_NOT_CONFIGURED);
        return presignedUpload(deps.storage);
      },
    }),
  ];
}
