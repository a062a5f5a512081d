import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { z } from 'zod';
import { CorsPolicy } from '../lib/cors-policy.ts';
import { isSfuError, type SfuErrorCode } from '../lib/errors.ts';
import type { RoomId, UserId } from '../lib/ids.ts';
import { verifyJoinToken } from '../lib/join-token.ts';
import { readUserToken } from '../lib/jwt.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { RateLimiter } from '../lib/rate-limiter.ts';
import type { ClusterPeers } from '../protocol/cluster-peers.ts';
import type { ParticipantControl } from '../protocol/participant-control.ts';
import type { RoomBroadcaster } from '../protocol/room-broadcaster.ts';
import type { SfuApi } from '../protocol/sfu-api.ts';
import type { WebhookEmitter } from '../protocol/webhook-events.ts';
import type { WhipIngest } from '../protocol/whip-ingest.ts';
import { joinTokenUser, type RoomGrant } from '../store/join-token-user.ts';
import { currentTokenUser } from '../store/token-user.ts';
import type { Store } from '../store/types.ts';
import { ConnectionLimits, socketCorsOptions } from './connection-limits.ts';
import { Evictions } from './evictions.ts';
import { eventHandlers } from './handlers/index.ts';
import { ParticipantDirectory } from './participant-directory.ts';
import { ParticipantMutes } from './participant-mutes.ts';
import { sweepParticipants } from './participant-sweeper.ts';
import { PeerRequests } from './peer-requests.ts';
import { createSafeMsgpackParser, frameRejectionReporter } from './safe-msgpack-parser.ts';
import { Session } from './session.ts';
import { ShutdownTracker } from './shutdown-tracker.ts';
import { SignallingContext } from './signalling-context.ts';
import { userDisconnector } from './user-disconnect.ts';
import { WhipPeers } from './whip-peers.ts';
import { WhipSessions } from './whip-sessions.ts';

/** How long close() waits for the leaves of the sockets it closed. */
const SHUTDOWN_LEAVES_DEADLINE_MS = 10_000;

export interface SignallingOptions {
  httpServer: HttpServer;
  store: Store;
  sfu: SfuApi;
  jwtSecret: string;
  /** Verifies join tokens (AUTH_IDENTITY_SECRET); without it only access tokens are accepted. */
  identitySecret?: string | undefined;
  nodeId: string;
  corsOrigins: string[] | '*';
  maxMessageBytes: number;
  eventsPerSecond: number;
  eventsBurst: number;
  /** Authenticated connections per client IP. */
  connectionsPerIp: number;
  /** Authenticated connections per user. */
  connectionsPerUser: number;
  /** Connections per client IP that have not authenticated yet. */
  unauthenticatedPerIp: number;
  /** A connection that has not authenticated after this long is closed. */
  connectTimeoutMs: number;
  /** Client IPs from X-Forwarded-For, as the REST API (TRUST_PROXY). */
  trustProxy: boolean;
  reconnectGraceMs: number;
  /**
   * socket.io adapter shared by the signalling instances of a cluster (the Redis adapter), so that
   * room broadcasts reach sockets on every instance. Default: in-memory (one process).
   */
  adapter?: ServerOptions['adapter'];
  metrics: Metrics;
  logger: Logger;
  /** Where room events go as webhooks (WEBHOOK_URLS); none: no webhooks. */
  webhooks?: WebhookEmitter | undefined;
}

export interface Signalling {
  io: Server;
  /** For the REST chat routes: `chat.*` to every socket of a room. */
  broadcaster: RoomBroadcaster;
  /** For the admin REST routes: an operator's mute and removal of one participant. */
  participants: ParticipantControl;
  directory: ParticipantDirectory;
  /** WHIP publishers (RFC 9725): room participants whose client is an HTTP resource. */
  whip: WhipIngest;
  /** Requests to the instance holding a resource (cluster only; one instance holds everything). */
  peers: ClusterPeers | undefined;
  close(): Promise<void>;
}

/** Socket.IO signalling, Waterbus protocol: msgpack parser, Bearer auth, one session per socket. */
export function createSignalling(options: SignallingOptions): Signalling {
  const log = options.logger;
  const cors = new CorsPolicy({ origins: options.corsOrigins, trustProxy: options.trustProxy });
  const limits = new ConnectionLimits({ ...options, cors, logger: log });
  const io = new Server(options.httpServer, {
    parser: createSafeMsgpackParser({ onRejected: frameRejectionReporter(options.metrics, log) }),
    path: '/socket.io/',
    pingInterval: 5000,
    pingTimeout: 5000,
    maxHttpBufferSize: options.maxMessageBytes,
    ...(options.adapter ? { adapter: options.adapter } : {}),
    cors: socketCorsOptions(cors),
    allowRequest: limits.allowRequest,
    connectTimeout: options.connectTimeoutMs,
  });
  io.engine.on('connection', (conn: Socket['conn']) => limits.track(conn));
  const directory = new ParticipantDirectory();
  const ctx = new SignallingContext({
    io,
    store: options.store,
    sfu: options.sfu,
    directory,
    nodeId: options.nodeId,
    logger: log,
    clustered: options.adapter !== undefined,
    reconnectGraceMs: options.reconnectGraceMs,
    webhooks: options.webhooks,
    onMembershipChanged: () => {
      options.metrics.rooms.set(directory.roomCount);
      options.metrics.participants.set(directory.participantCount);
    },
  });
  const evictions = new Evictions(ctx, { clustered: options.adapter !== undefined });
  const mutes = new ParticipantMutes(ctx, { clustered: options.adapter !== undefined });
  const whip = new WhipSessions(ctx, { metrics: options.metrics, logger: log.child({ component: 'whip' }) });
  // In a cluster a WHIP or WHEP resource's PATCH or DELETE may reach any instance: it goes to the holder.
  const peers = options.adapter ? new PeerRequests(io, log) : undefined;
  const whipIngest = peers ? new WhipPeers(peers, whip) : whip;
  const limiter = new RateLimiter({ ratePerSecond: options.eventsPerSecond, burst: options.eventsBurst });

  const shutdown = new ShutdownTracker();
  io.use((socket, next) => {
    // Why: between close() and the engine closing, a handshake must not start a new session.
    if (shutdown.closing) return next(new Error('Server shutting down'));
    authenticate(socket, options)
      .then(() => next())
      .catch((err: unknown) => next(err instanceof Error ? err : new Error(String(err))));
  });
  io.use((socket, next) => admit(limits, socket, next));
  io.on('connection', (socket) => onConnection(socket, ctx, limiter, options, shutdown));

  const sweep = setInterval(() => sweepInactive(options, log), Math.max(1000, options.reconnectGraceMs / 2));
  sweep.unref();
  const limiterSweep = setInterval(() => limiter.sweep(), 10_000);
  limiterSweep.unref();

  return {
    io,
    directory,
    whip: whipIngest,
    peers,
    broadcaster: {
      toRoom: (roomId: RoomId, event: string, payload: unknown) => io.to(roomId).emit(event, payload),
      evictUser: (...args) => evictions.evictUser(...args),
      disconnectUser: userDisconnector(io, { clustered: options.adapter !== undefined, logger: log }),
    },
    participants: {
      mute: (...args) => mutes.mute(...args),
      remove: (...args) => evictions.evictParticipant(...args),
    },
    /**
     * Ordered shutdown: refuse new sockets, close the connected ones (clients see a transport close
     * and reconnect, in a cluster through another instance), then wait for their leaves to be
     * written (participants marked left, the room told) before the caller closes the SFU client,
     * Redis and the database they need. Leaves still running after the deadline are logged.
     */
    async close() {
      shutdown.closing = true;
      clearInterval(sweep);
      clearInterval(limiterSweep);
      const engineClosed = new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
      const unfinished = await shutdown.settled(SHUTDOWN_LEAVES_DEADLINE_MS);
      await whip.close();
      if (unfinished > 0) log.warn({ unfinished }, 'leaves still running at the shutdown deadline');
      // The leaves' webhook events (participant_left, room_finished) are queued before the sink flushes.
      if (ctx.webhooks) shutdown.track(ctx.webhooks.idle());
      await shutdown.settled(SHUTDOWN_LEAVES_DEADLINE_MS);
      ctx.close();
      await engineClosed;
    },
  };
}

/** After authentication: the per-user and per-IP caps of authenticated connections. */
function admit(limits: ConnectionLimits, socket: Socket, next: (err?: Error) => void): void {
  try {
    limits.admit(socket.conn, socket.data.userId as UserId);
    next();
  } catch (err) {
    next(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Bearer token from the handshake `Authorization` header (Waterbus) or the `auth.token` payload. */
async function authenticate(socket: Socket, options: SignallingOptions) {
  const header = socket.handshake.headers.authorization;
  const fromAuth = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  const raw =
    typeof header === 'string' && header ? header : typeof fromAuth === 'string' ? fromAuth : undefined;
  if (!raw) throw new Error('Missing Authorization header');
  const token = readUserToken(raw, options.jwtSecret);
  // Deleted users and tokens revoked by a logout (older token version) are refused too.
  const user = token && (await currentTokenUser(options.store.users, token));
  if (user) {
    socket.data.userId = user.id;
    return;
  }
  const joined = await joinTokenOf(raw, options);
  if (!joined) throw new Error('Invalid token');
  socket.data.userId = joined.user.id;
  socket.data.grant = joined.grant;
}

/** A join token (LiveKit-style, for one room) instead of an access token. */
async function joinTokenOf(raw: string, options: SignallingOptions) {
  if (!options.identitySecret) return undefined;
  const token = raw.startsWith('Bearer ') ? raw.slice(7).trim() : raw.trim();
  const result = verifyJoinToken(token, options.identitySecret);
  return result.ok ? joinTokenUser(options.store, result.claims) : undefined;
}

function onConnection(
  socket: Socket,
  ctx: SignallingContext,
  limiter: RateLimiter,
  options: SignallingOptions,
  shutdown: ShutdownTracker,
): void {
  const session = new Session(
    socket,
    socket.data.userId as UserId,
    socket.data.grant as RoomGrant | undefined,
  );
  ctx.sessions.set(socket.id, session);
  options.metrics.socketConnections.inc();
  const log = ctx.log.child({ socketId: socket.id, userId: session.userId });
  log.debug('socket connected');

  socket.onAny((event: unknown, ...args: unknown[]) => {
    const ack =
      typeof args[args.length - 1] === 'function' ? (args.pop() as (r: unknown) => void) : undefined;
    dispatch(ctx, session, limiter, options.metrics, log, String(event), args[0], ack);
  });

  socket.on('disconnect', (reason) => {
    session.closed = true;
    ctx.sessions.delete(socket.id);
    limiter.forget(socket.id);
    options.metrics.socketConnections.dec();
    log.debug({ reason }, 'socket disconnected');
    shutdown.track(
      session
        .run(() => ctx.leave(session, { keepRow: true }))
        .catch((err: unknown) => log.error({ err }, 'leave on disconnect failed')),
    );
  });
}

function dispatch(
  ctx: SignallingContext,
  session: Session,
  limiter: RateLimiter,
  metrics: Metrics,
  log: Logger,
  event: string,
  payload: unknown,
  ack: ((r: unknown) => void) | undefined,
): void {
  const reply = (code: SfuErrorCode, message: string, outcome: string) => {
    metrics.socketEvents.inc({ event: eventHandlers.has(event) ? event : 'unknown', outcome });
    sendError(session.endpoint, event, code, message, ack);
  };
  if (!limiter.take(session.id)) {
    reply('resource_exhausted', 'too many events: slow down', 'rate_limited');
    return;
  }
  const handler = eventHandlers.get(event);
  if (!handler) {
    reply('unsupported', `unknown event '${event.slice(0, 64)}'`, 'rejected');
    return;
  }
  const parsed = handler.schema.safeParse(payload);
  if (!parsed.success) {
    reply('invalid_argument', z.prettifyError(parsed.error).replaceAll('\n', ' '), 'rejected');
    return;
  }
  session
    .run(() => handler.run(ctx, session, parsed.data))
    .then((result) => {
      metrics.socketEvents.inc({ event, outcome: 'ok' });
      ack?.(result ?? {});
    })
    .catch((err: unknown) => {
      if (isSfuError(err)) return reply(err.code, err.message, 'failed');
      log.error({ err, event }, 'socket event failed');
      reply('internal', 'internal error', 'failed');
    });
}

/** An ack `{ error }` when the client asked for one, else a `system.error` event. */
function sendError(
  socket: Socket,
  event: string,
  code: SfuErrorCode,
  message: string,
  ack: ((r: unknown) => void) | undefined,
): void {
  const error = { code, message };
  if (ack) ack({ error });
  else socket.emit('system.error', { event, ...error });
}

async function sweepInactive(options: SignallingOptions, log: Logger): Promise<void> {
  await sweepParticipants(options.store, {
    reconnectGraceMs: options.reconnectGraceMs,
    nowMs: Date.now(),
    log,
  });
}
