import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { AdminControl, ApiDeps, EgressControl, StorageOptions } from '../../src/api/deps.ts';
import type { IceServerOptions } from '../../src/api/ice-servers.ts';
import {
  apiRoutes,
  createHttpServer,
  type RouteDef,
  registerDocs,
  registerWhep,
} from '../../src/api/index.ts';
import type { RoomPasswordGuard } from '../../src/api/room-password-guard.ts';
import type { WhepSessions, WhepSfu } from '../../src/api/whep/whep-sessions.ts';
import { UserId } from '../../src/lib/ids.ts';
import { signToken } from '../../src/lib/jwt.ts';
import type { Logger } from '../../src/lib/logger.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { Metrics } from '../../src/lib/metrics.ts';
import type { EvictionReason, RoomBroadcaster } from '../../src/protocol/room-broadcaster.ts';
import { openStore } from '../../src/store/index.ts';
import { RoomStatus, type Store } from '../../src/store/types.ts';

/**
 * The real REST server (routes, auth, validation) on an in-memory SQLite store, on 127.0.0.1 and a
 * free port, driven with fetch. The broadcaster records what the socket layer would emit.
 */

export const API_KEY = 'rest-test-api-key';
export const JWT_SECRET = 'rest-test-jwt-secret-0123456789';
export const REFRESH_SECRET = 'rest-test-refresh-secret-0123456789';
export const BODY_LIMIT = 256 * 1024;

export interface Broadcast {
  roomId: string;
  event: string;
  payload: Record<string, unknown>;
}

/** An `evictUser` call: the user's sockets the socket layer would take out of the room. */
export interface Eviction {
  roomId: string;
  userId: number;
  reason: EvictionReason;
  keep: string | undefined;
}

export interface Reply<T = Json> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON replies are checked key by key in the tests.
export type Json = any;

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (with content-type application/json unless `headers` says otherwise). */
  rawBody?: string;
  apiKey?: string | null;
  headers?: Record<string, string>;
  /** The path is outside /busapi/v3 (docs, health probes). */
  root?: boolean;
}

export interface Api {
  baseUrl: string;
  store: Store;
  app: FastifyInstance;
  broadcasts: Broadcast[];
  evictions: Eviction[];
  /** The WHEP sessions, when started with `whep`. */
  whep: WhepSessions | undefined;
  call<T = Json>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  close(): Promise<void>;
}

export async function startApi(
  options: {
    storage?: StorageOptions;
    passwordGuard?: RoomPasswordGuard;
    logger?: Logger;
    /** The routes to serve; default every /busapi/v3 route (`apiRoutes`). */
    routes?: (deps: ApiDeps) => RouteDef[];
    /** The egress operations (the SfuApi's); without them the egress routes answer 501. */
    egress?: EgressControl;
    /** The admin routes' SFU view and participant actions; without them those routes answer 501. */
    admin?: AdminControl;
    /** AUTH_IDENTITY_SECRET: the server-only secret (join tokens, the admin egress routes). */
    identitySecret?: string;
    /** STUN and TURN servers of GET /auth/ice-servers (none when not given). */
    ice?: IceServerOptions;
    /** Serve WHEP (/whep/...) with this SFU side, counted in `metrics`. */
    whep?: { sfu: WhepSfu; metrics: Metrics };
  } = {},
): Promise<Api> {
  const store = await openStore({ sqlitePath: ':memory:' });
  const broadcasts: Broadcast[] = [];
  const evictions: Eviction[] = [];
  const broadcaster: RoomBroadcaster = {
    toRoom: (roomId, event, payload) =>
      broadcasts.push({ roomId, event, payload: payload as Record<string, unknown> }),
    evictUser: (roomId, userId, reason, keep) => evictions.push({ roomId, userId, reason, keep }),
    // No sockets here: test/security/token-revocation.test.ts covers the disconnect on logout.
    disconnectUser: () => undefined,
  };
  const deps: ApiDeps = {
    store,
    auth: {
      apiKey: API_KEY,
      jwtSecret: JWT_SECRET,
      refreshSecret: REFRESH_SECRET,
      accessTokenTtlS: 600,
      refreshTokenTtlS: 3600,
      loginMode: 'open',
      identitySecret: options.identitySecret,
    },
    storage: options.storage,
    broadcaster,
    logger: options.logger ?? silentLogger(),
    ...(options.passwordGuard && { passwordGuard: options.passwordGuard }),
    ...(options.egress && { egress: options.egress }),
    ...(options.admin && { admin: options.admin }),
    ...(options.ice && { ice: options.ice }),
  };
  const routes = (options.routes ?? apiRoutes)(deps);
  const app = await createHttpServer({
    deps,
    routes,
    metrics: new Metrics({ defaultMetrics: false }),
    logger: silentLogger(),
    corsOrigins: '*',
    rateLimitPerSecond: 10_000,
    bodyLimitBytes: BODY_LIMIT,
    trustProxy: false,
    timeouts: { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5000 },
    readinessChecks: [{ name: 'database', check: () => store.ping() }],
  });
  registerDocs(app, routes);
  const whep = options.whep && registerWhep(app, { deps, ...options.whep, logger: silentLogger() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    store,
    app,
    broadcasts,
    evictions,
    whep,
    call: (method, path, opts) => request(baseUrl, method, path, opts),
    async close() {
      await app.close();
      await store.close();
    },
  };
}

async function request<T>(baseUrl: string, method: string, path: string, o: CallOptions = {}) {
  const headers: Record<string, string> = {};
  if (o.apiKey !== null) headers['x-api-key'] = o.apiKey ?? API_KEY;
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.body !== undefined || o.rawBody !== undefined) {
    headers['content-type'] = 'application/json';
    body = o.rawBody ?? JSON.stringify(o.body);
  }
  Object.assign(headers, o.headers);
  const url = o.root ? path : `/busapi/v3${path}`;
  const res = await fetch(baseUrl + url, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain-text replies (health check, 404) stay strings.
  }
  return { status: res.status, body: parsed as T, text, headers: res.headers };
}

export interface Session {
  id: number;
  token: string;
  refreshToken: string;
  user: Json;
}

export async function login(
  api: Api,
  externalId: string,
  fullName = `Name of ${externalId}`,
): Promise<Session> {
  const res = await api.call('POST', '/auth', { body: { fullName, externalId } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return {
    id: res.body.user.id,
    token: res.body.token,
    refreshToken: res.body.refreshToken,
    user: res.body.user,
  };
}

/** A correctly signed token with arbitrary claims (expired, unknown user, ...). */
export function forgeToken(claims: { id: string; exp: number }, secret = JWT_SECRET): string {
  return signToken(claims, secret);
}

/**
 * Everything the store can tell about the given users and rooms: compared before and after a
 * rejected request to show that it changed nothing.
 */
export async function snapshot(store: Store, userIds: number[], roomIds: number[]) {
  const ids = userIds.map((id) => UserId(id));
  const page = { skip: 0, limit: 1000 };
  const rooms = await Promise.all(
    roomIds.map(async (id) => ({
      room: await store.rooms.findById(id),
      members: await store.members.listByRoom(id),
      participants: await store.participants.listByRoom(id),
      messages: await store.messages.listByRoom(id, page),
    })),
  );
  const memberships = await Promise.all(
    ids.map(async (id) => ({
      active: await store.rooms.listForMember(id, RoomStatus.Active, page),
      inactive: await store.rooms.listForMember(id, RoomStatus.Inactive, page),
    })),
  );
  return { users: await store.users.findManyByIds(ids), rooms, memberships };
}
