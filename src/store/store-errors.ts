import { SfuError } from '../lib/errors.ts';

/**
 * Why the database could not serve a request:
 * - `unreachable`: PostgreSQL refused, dropped or timed out the connection (a restart, a failover,
 *   a full pool), or SQLite's file is locked by another process;
 * - `storage_full`: the disk (or PostgreSQL's) has no room for the write;
 * - `read_only`: the database or its file accepts no writes;
 * - `io_error`: the disk failed a read or a write.
 */
export type StoreFailure = 'unreachable' | 'storage_full' | 'read_only' | 'io_error';

/** Seconds a client should wait before retrying after a transient failure (a restart takes ~1-3 s). */
export const STORE_RETRY_AFTER_S = 2;

const MESSAGES: Record<StoreFailure, string> = {
  unreachable: 'the database is unavailable: try again shortly',
  storage_full: 'the database storage is full: nothing was stored',
  read_only: 'the database is read-only: nothing was stored',
  io_error: 'the database had an I/O error: try again shortly',
};

/**
 * The database cannot serve the request now: `unavailable` on every edge (the socket ack's code,
 * gRPC UNAVAILABLE), and over HTTP a 503 with `Retry-After`, or 507 for a full disk (see
 * api/http-errors.ts). The driver's error is the `cause`, for logs only.
 */
export class StoreUnavailableError extends SfuError {
  readonly failure: StoreFailure;

  constructor(failure: StoreFailure, options?: { cause?: unknown }) {
    super('unavailable', MESSAGES[failure], options);
    this.name = 'StoreUnavailableError';
    this.failure = failure;
  }

  /** Whether retrying soon may succeed (a full disk or a read-only file needs an operator). */
  get transient(): boolean {
    return this.failure === 'unreachable' || this.failure === 'io_error';
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}

/** The driver error as a StoreUnavailableError when it says the database is out of service, else as it is. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof SfuError) return err;
  const failure = sqliteFailure(err) ?? postgresFailure(err);
  return failure ? new StoreUnavailableError(failure, { cause: err }) : err;
}

/** node:sqlite errors carry the extended result code in `errcode`; its low byte is the primary code. */
function sqliteFailure(err: unknown): StoreFailure | undefined {
  const e = err as { code?: unknown; errcode?: unknown } | null;
  if (e?.code !== 'ERR_SQLITE_ERROR' || typeof e.errcode !== 'number') return undefined;
  switch (e.errcode & 0xff) {
    case 5: // SQLITE_BUSY
    case 6: // SQLITE_LOCKED
      return 'unreachable';
    case 8: // SQLITE_READONLY
      return 'read_only';
    case 10: // SQLITE_IOERR
    case 14: // SQLITE_CANTOPEN
      return 'io_error';
    case 13: // SQLITE_FULL
      return 'storage_full';
    default:
      return undefined;
  }
}

/** Socket-level failures (Node's `code`) of a connection to PostgreSQL. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * pg's own errors have no code, only these messages: a connection that ended under a query, the
 * connect or pool-wait timeout, the client-side query timeout, a client already broken.
 */
const PG_CLIENT_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed)/;

function postgresFailure(err: unknown): StoreFailure | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  // https://www.postgresql.org/docs/current/errcodes-appendix.html
  if (code.startsWith('08')) return 'unreachable'; // connection_exception
  if (code === '53100') return 'storage_full'; // disk_full
  if (code === '25006') return 'read_only'; // read_only_sql_transaction (a standby)
  if (code === '58030') return 'io_error'; // io_error
  // admin_shutdown, crash_shutdown, cannot_connect_now (starting up), too_many_connections,
  // query_canceled (statement_timeout)
  if (['57P01', '57P02', '57P03', '53300', '57014'].includes(code)) return 'unreachable';
  if (NETWORK_CODES.has(code)) return 'unreachable';
  if (typeof e?.message === 'string' && PG_CLIENT_MESSAGES.test(e.message)) return 'unreachable';
  return undefined;
}
