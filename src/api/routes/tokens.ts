import { z } from 'zod';
import {
  DEFAULT_GRANTS,
  DEFAULT_JOIN_TOKEN_TTL_S,
  MAX_JOIN_TOKEN_TTL_S,
  mintJoinToken,
} from '../../lib/join-token.ts';
import { secretsEqual } from '../../lib/jwt.ts';
import type { Room, Store } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { DEFAULT_ROUTE_RATE_LIMITS, IpRateLimit } from '../ip-rate-limit.ts';
import { type RouteDef, route } from '../route.ts';
import { bodyId } from './common.ts';

/**
 * Join-token minting for the operator's backend (see docs/join-tokens.md): authenticated by the
 * server-only secret AUTH_IDENTITY_SECRET as `Authorization: Bearer <secret>` (never the client
 * API key, which ships in apps), limited per IP (TOKEN_MINT_PER_MINUTE).
 */

export const JOIN_TOKENS_OFF = 'Join tokens are not configured (set AUTH_IDENTITY_SECRET)';
export const BAD_SERVER_SECRET = 'Invalid server secret';

const grantsBody = z
  .object({
    canPublish: z.boolean(),
    canSubscribe: z.boolean(),
    canPublishData: z.boolean(),
    hidden: z.boolean(),
    roomAdmin: z.boolean(),
  })
  .partial()
  .strict();

const mintBody = z.object({
  /** The room's code, or its id. */
  room: z.union([z.string().min(1).max(50), z.int().positive()]),
  identity: z.string().min(1).max(100),
  name: z.string().min(1).max(255).optional(),
  ttlSeconds: z.int().min(1).max(MAX_JOIN_TOKEN_TTL_S).default(DEFAULT_JOIN_TOKEN_TTL_S),
  grants: grantsBody.default({}),
});

export function tokenRoutes(deps: ApiDeps): RouteDef[] {
  const { store, auth } = deps;
  const limit = new IpRateLimit((deps.rateLimits ?? DEFAULT_ROUTE_RATE_LIMITS).tokenMintPerMinute);
  return [
    route({
      method: 'POST',
      path: '/tokens',
      auth: 'public',
      tag: 'auth',
      summary:
        'Mint a join token for one room and identity (backend only: Authorization: Bearer <AUTH_IDENTITY_SECRET>)',
      body: mintBody,
      successStatus: 201,
      async handler({ body, request }) {
        limit.check(request);
        const secret = auth.identitySecret;
        if (!secret) throw new HttpError(501, JOIN_TOKENS_OFF);
        const header = request.headers.authorization ?? '';
        if (!header.startsWith('Bearer ') || !secretsEqual(header.slice(7).trim(), secret))
          throw new HttpError(401, BAD_SERVER_SECRET);
        const room = await findRoom(store, body.room);
        const grants = { ...DEFAULT_GRANTS, ...body.grants };
        const nowMs = Date.now();
        const token = mintJoinToken(
          { identity: body.identity, name: body.name, room: room.code, grants, ttlS: body.ttlSeconds },
          secret,
          nowMs,
        );
        const expiresAt = Math.floor(nowMs / 1000) + body.ttlSeconds;
        return { token, expiresAt, room: { id: room.id, code: room.code }, identity: body.identity, grants };
      },
    }),
  ];
}

/** A room by its code, or by its id (a number, or a string of digits that is no room's code). */
async function findRoom(store: Store, ref: string | number): Promise<Room> {
  const byId = typeof ref === 'number' ? ref : bodyId.safeParse(ref).data;
  const room =
    (typeof ref === 'string' ? await store.rooms.findByCode(ref) : undefined) ??
    (byId === undefined ? undefined : await store.rooms.findById(byId));
  if (!room) throw new HttpError(404, `Room ${ref} not found`);
  return room;
}
