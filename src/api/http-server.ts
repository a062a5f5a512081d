import cors from '@fastify/cors';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { clientIp } from '../lib/client-ip.ts';
import { CorsPolicy } from '../lib/cors-policy.ts';
import { UserId } from '../lib/ids.ts';
import { readUserToken, secretsEqual } from '../lib/jwt.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { RateLimiter } from '../lib/rate-limiter.ts';
import type { RoomGrant } from '../store/join-token-user.ts';
import { currentTokenUser } from '../store/token-user.ts';
import type { Store, User } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';
import { describeZodError, HttpError, toHttpError } from './http-errors.ts';
import { joinTokenCaller, requireGrantedRoom } from './join-token-auth.ts';
import type { RouteDef } from './route.ts';
import { registerSecurityHeaders } from './security-headers.ts';

export const API_PREFIX = '/busapi/v3';

export interface HttpServerOptions {
  deps: ApiDeps;
  routes: RouteDef[];
  metrics: Metrics;
  logger: Logger;
  /** Foreign origins allowed besides the server's own (`[]`: same-origin only), or `*`. */
  corsOrigins: string[] | '*';
  rateLimitPerSecond: number;
  bodyLimitBytes: number;
  trustProxy: boolean;
  timeouts: { requestMs: number; headersMs: number; keepAliveMs: number };
  /** Extra readiness checks (database, media engine); a throw makes /readyz answer 503. */
  readinessChecks: Array<{ name: string; check: () => Promise<void> }>;
}

/**
 * The HTTP server: REST routes under /busapi/v3 (API key, JWT, validation, errors as
 * `{ message }`), health and metrics endpoints, CORS, security headers, request timeouts and a
 * per-IP rate limit. socket.io attaches to `app.server` separately.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { timeouts } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Requests are logged by our onResponse hook (with metrics), not by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: routerError,
    // Node measures these until the request is received: upgraded WebSockets and long-polling
    // responses held open by socket.io are not cut.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: checkingIntervalMs(timeouts) },
  });
  await installCors(app, new CorsPolicy({ origins: options.corsOrigins, trustProxy: options.trustProxy }));
  await registerSecurityHeaders(app);
  acceptEmptyJsonBodies(app);
  installRateLimit(app, options);
  installMetrics(app, options.metrics);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const text = request.url.startsWith(API_PREFIX) ? '[v3] Waterbus Not Found' : 'Not Found';
    void reply.code(404).type('text/plain; charset=utf-8').send(text);
  });
  for (const def of options.routes) registerRoute(app, def, options.deps);
  registerOpsRoutes(app, options);
  return app;
}

/**
 * How often Node looks for requests past their timeout (its default, 30 s, would let a request
 * outlive a 10 s timeout threefold).
 */
function checkingIntervalMs(timeouts: HttpServerOptions['timeouts']): number {
  return Math.min(5000, Math.max(100, Math.round(Math.min(timeouts.requestMs, timeouts.headersMs) / 4)));
}

/**
 * CORS from the shared policy: a refused Origin is answered 403 before anything else runs (and
 * never echoed); an allowed foreign one gets the CORS headers; same-origin and Origin-less
 * requests need none.
 */
async function installCors(app: FastifyInstance, policy: CorsPolicy): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    if (policy.allows(request.raw)) return;
    void reply.code(403).send({ message: 'Origin not allowed' });
    return reply;
  });
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request, callback) => {
      const decision = policy.decide(request);
      const origin = decision.allowed && decision.allowOrigin !== undefined ? decision.allowOrigin : false;
      callback(null, {
        origin,
        allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'If-Match'],
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        // WHIP (RFC 9725) and WHEP players on allowed foreign origins read these from the replies.
        exposedHeaders: ['Location', 'ETag', 'Link', 'Accept-Patch'],
      });
    },
  });
}

/** What the router's own refusals say (the default body echoes the whole path back). */
const ROUTER_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_BAD_URL: { status: 400, message: 'Malformed URL: invalid percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: 'Path parameter too long' },
};

/**
 * URLs the router refuses before any hook or route runs (a bad percent-encoding, a parameter
 * over maxParamLength): answered `{ message }` like every other error. Helmet's hook does not run
 * for them, hence the nosniff set here.
 */
function routerError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, message } = ROUTER_ERRORS[err.code] ?? { status: 500, message: 'Internal server error' };
  void reply.code(status).header('x-content-type-options', 'nosniff').send({ message });
}

function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, message, expected, retryAfterS } = toHttpError(err);
  if (!expected) request.log.error({ err, url: request.url }, 'request failed');
  if (retryAfterS !== undefined) void reply.header('retry-after', String(retryAfterS));
  void reply.code(status).send({ message });
}

/**
 * The Flutter SDK sends `Content-Type: application/json` with no body on DELETE /auth, DELETE
 * /rooms/:id, DELETE /chats/:id, POST /auth/presigned-url...: an empty JSON body means "no body"
 * here (Fastify's default parser answers 400). Non-empty bodies use Fastify's parser unchanged.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, (err, value) => done(err && prototypeKeyError(err, text), value));
  });
}

/**
 * The parser refuses `__proto__` and `constructor.prototype` keys (prototype poisoning) with the
 * same error as broken JSON: when the text is valid JSON, say what was refused instead.
 */
function prototypeKeyError(err: Error, text: string): Error {
  try {
    JSON.parse(text);
  } catch {
    return err;
  }
  return new HttpError(400, 'body: "__proto__" and "constructor.prototype" keys are not allowed');
}

function installRateLimit(app: FastifyInstance, options: HttpServerOptions): void {
  const perSecond = options.rateLimitPerSecond;
  const limiter = new RateLimiter({ ratePerSecond: perSecond, burst: perSecond });
  const sweep = setInterval(() => limiter.sweep(), 10_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
  app.addHook('onRequest', async (request, reply) => {
    if (!limiter.take(clientIp(request.raw, { trustProxy: options.trustProxy }))) {
      void reply.code(429).header('retry-after', '1').send({ message: 'Too many requests' });
      return reply;
    }
  });
}

function installMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label so that scanners cannot grow the label set.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route };
    metrics.httpRequests.inc({ ...labels, status: String(reply.statusCode) });
    metrics.httpDurationS.observe(labels, reply.elapsedTime / 1000);
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode }, 'request');
  });
}

function registerRoute(app: FastifyInstance, def: RouteDef, deps: ApiDeps): void {
  app.route({
    method: def.method,
    url: API_PREFIX + def.path,
    handler: async (request, reply) => {
      const { userId, grant } = await authenticate(request, def, deps);
      const params = validate(def.params, request.params, 'params');
      const query = validate(def.query, request.query, 'query');
      const body = validate(def.body, request.body ?? {}, 'body');
      const result = await def.handler({ params, query, body, userId, grant, request });
      reply.code(def.successStatus ?? 200);
      if (def.text) return reply.type('text/plain; charset=utf-8').send(String(result));
      return reply.send(result);
    },
  });
}

function validate<T>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T; error?: unknown } } | undefined,
  value: unknown,
  where: string,
): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data as T;
  throw new HttpError(400, describeZodError(result.error as Parameters<typeof describeZodError>[0], where));
}

interface Caller {
  userId: UserId;
  grant: RoomGrant | undefined;
}

const NO_CALLER: Caller = { userId: UserId(0), grant: undefined };

async function authenticate(request: FastifyRequest, def: RouteDef, deps: ApiDeps): Promise<Caller> {
  if (def.auth === 'public') return NO_CALLER;
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey !== 'string' || !secretsEqual(apiKey, deps.auth.apiKey)) {
    throw new HttpError(401, 'Invalid API Key');
  }
  if (def.auth === 'apiKey') return NO_CALLER;
  const header = request.headers.authorization;
  if (def.auth === 'refresh')
    return callerOf(await userFromBearer(header, deps.auth.refreshSecret, deps.store));
  const token = readUserToken(header, deps.auth.jwtSecret);
  const user = token && (await currentTokenUser(deps.store.users, token));
  if (user) return callerOf(user);
  // Not an access token: a join token acts in its own room only.
  const joined = await joinTokenCaller(header, deps.auth.identitySecret, deps.store);
  if (!joined) throw new HttpError(401, 'Invalid token');
  if (!def.joinTokenOutsideRoom) requireGrantedRoom(request, joined.grant);
  return { userId: joined.user.id, grant: joined.grant };
}

function callerOf(user: User): Caller {
  return { userId: user.id, grant: undefined };
}

/**
 * The caller of a `Bearer <jwt>` header: 401 unless the token is valid, its user exists (not
 * deleted) and its token version is current (not revoked by a logout).
 */
export async function userFromBearer(
  header: string | undefined,
  secret: string,
  store: Store,
): Promise<User> {
  const token = readUserToken(header, secret);
  const user = token && (await currentTokenUser(store.users, token));
  if (!user) throw new HttpError(401, 'Invalid token');
  return user;
}

function registerOpsRoutes(app: FastifyInstance, options: HttpServerOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const failures: Record<string, string> = {};
    await Promise.all(
      options.readinessChecks.map(async ({ name, check }) => {
        try {
          await check();
        } catch (err) {
          failures[name] = err instanceof Error ? err.message : String(err);
        }
      }),
    );
    const ready = Object.keys(failures).length === 0;
    return reply
      .code(ready ? 200 : 503)
      .send(ready ? { status: 'ready' } : { status: 'not_ready', failures });
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });
}
