import type { IncomingMessage } from 'node:http';
import type { ServerOptions, Socket } from 'socket.io';
import { clientIp } from '../lib/client-ip.ts';
import type { CorsPolicy } from '../lib/cors-policy.ts';
import type { UserId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

export interface ConnectionLimitsOptions {
  /** Engine.io connections per client IP that have not authenticated (yet). */
  unauthenticatedPerIp: number;
  /** Authenticated connections per user. */
  connectionsPerUser: number;
  /** Authenticated connections per client IP (many users behind one NAT). */
  connectionsPerIp: number;
  trustProxy: boolean;
  cors: CorsPolicy;
  metrics: Metrics;
  logger: Logger;
}

type EngineConnection = Socket['conn'];
type RefusalReason = 'origin' | 'unauthenticated_per_ip' | 'per_user' | 'per_ip';

/** One refusal log line per reason per this many ms; the others are counted in the next line. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * Admission of socket.io connections. Lifecycle of one engine.io connection: `allowRequest`
 * (Origin, per-IP cap of unauthenticated connections) → `track` when engine.io accepts it
 * (counted as unauthenticated) → `admit` once socket.io authenticated its user (then counted per
 * user and per IP instead, or refused) → released when the connection closes. Connections that
 * never authenticate are closed by socket.io's `connectTimeout`.
 */
export class ConnectionLimits {
  readonly #options: ConnectionLimitsOptions;
  readonly #unauthenticatedByIp = new Counts<string>();
  readonly #authenticatedByIp = new Counts<string>();
  readonly #byUser = new Counts<UserId>();
  readonly #records = new WeakMap<EngineConnection, { ip: string; userId?: UserId }>();
  readonly #lastLog = new Map<RefusalReason, { at: number; suppressed: number }>();

  constructor(options: ConnectionLimitsOptions) {
    this.#options = options;
  }

  /** engine.io's `allowRequest`: runs on every new connection (polling handshake or WebSocket). */
  readonly allowRequest = (
    request: IncomingMessage,
    callback: (err: string | null | undefined, success: boolean) => void,
  ): void => {
    if (!this.#options.cors.allows(request)) {
      this.#refused('origin', request);
      callback('origin not allowed', false);
      return;
    }
    const ip = this.#ip(request);
    if (this.#unauthenticatedByIp.get(ip) >= this.#options.unauthenticatedPerIp) {
      this.#refused('unauthenticated_per_ip', request);
      callback('too many connections', false);
      return;
    }
    callback(null, true);
  };

  /** engine.io's `connection` event: the connection counts as unauthenticated until admitted. */
  track(conn: EngineConnection): void {
    const record = { ip: this.#ip(conn.request) };
    this.#records.set(conn, record);
    this.#unauthenticatedByIp.add(record.ip);
    conn.once('close', () => this.#release(record));
  }

  /** After authentication: counts `conn` for `userId`; throws when a per-user or per-IP cap is reached. */
  admit(conn: EngineConnection, userId: UserId): void {
    const record = this.#records.get(conn);
    // A second socket.io CONNECT on an admitted connection keeps its one place.
    if (!record || record.userId !== undefined) return;
    if (this.#byUser.get(userId) >= this.#options.connectionsPerUser) {
      this.#refused('per_user', conn.request);
      throw new Error('Too many connections');
    }
    if (this.#authenticatedByIp.get(record.ip) >= this.#options.connectionsPerIp) {
      this.#refused('per_ip', conn.request);
      throw new Error('Too many connections');
    }
    this.#unauthenticatedByIp.remove(record.ip);
    this.#authenticatedByIp.add(record.ip);
    this.#byUser.add(userId);
    record.userId = userId;
  }

  #release(record: { ip: string; userId?: UserId }): void {
    if (record.userId === undefined) {
      this.#unauthenticatedByIp.remove(record.ip);
      return;
    }
    this.#authenticatedByIp.remove(record.ip);
    this.#byUser.remove(record.userId);
  }

  #ip(request: IncomingMessage): string {
    return clientIp(request, { trustProxy: this.#options.trustProxy });
  }

  #refused(reason: RefusalReason, request: IncomingMessage): void {
    this.#options.metrics.socketConnectionsRefused.inc({ reason });
    const now = Date.now();
    const last = this.#lastLog.get(reason);
    if (last && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.#lastLog.set(reason, { at: now, suppressed: 0 });
    this.#options.logger.warn(
      { reason, ip: this.#ip(request), origin: request.headers.origin, suppressed },
      'socket connection refused',
    );
  }
}

/** Live connections per key; a key whose count drops to zero is forgotten. */
class Counts<K> {
  readonly #map = new Map<K, number>();

  get(key: K): number {
    return this.#map.get(key) ?? 0;
  }

  add(key: K): void {
    this.#map.set(key, this.get(key) + 1);
  }

  remove(key: K): void {
    const left = this.get(key) - 1;
    if (left <= 0) this.#map.delete(key);
    else this.#map.set(key, left);
  }
}

type CorsDelegate = NonNullable<ServerOptions['cors']>;

/**
 * socket.io's CORS headers from the shared policy: a listed origin is echoed with credentials,
 * `*` is sent without credentials, and a refused origin gets no CORS header at all (its
 * handshake is then refused by `allowRequest`).
 */
export function socketCorsOptions(policy: CorsPolicy): CorsDelegate {
  return (request, callback) => {
    const decision = policy.decide(request);
    if (!decision.allowed || decision.allowOrigin === undefined) {
      callback(null, { origin: false });
      return;
    }
    callback(null, { origin: decision.allowOrigin, credentials: decision.credentials });
  };
}
