import pg from 'pg';
import { SfuError } from '../lib/errors.ts';
import { assertOpen, type Db, TransactionScope, type TransactionState } from './db.ts';

const TIMESTAMP_OID = 1114;
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

export interface PostgresTimeouts {
  /**
   * Longest wait for a connection: opening one, or a free one from a full pool (default 5 s). A
   * request fails with `unavailable` after it rather than waiting forever.
   */
  connectTimeoutMs?: number | undefined;
  /** Longest wait for a query's answer, a backstop for a connection that went silent (default 10 s). */
  queryTimeoutMs?: number | undefined;
}

type Queryable = pg.Pool | pg.PoolClient;

/** PostgreSQL through a `pg` pool; a transaction holds one client from BEGIN to COMMIT/ROLLBACK. */
export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #scope = new TransactionScope();

  constructor(url: string, timeouts: PostgresTimeouts = {}) {
    const types = {
      getTypeParser: ((oid: number, format?: string) => {
        // Timestamps stay text (the store normalises them); counts and bigints become numbers.
        if (oid === TIMESTAMP_OID) return (v: string) => v;
        if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => Number(v);
        return pg.types.getTypeParser(oid, format as 'text');
      }) as typeof pg.types.getTypeParser,
    };
    this.#pool = new pg.Pool({
      connectionString: url,
      max: POOL_SIZE,
      connectionTimeoutMillis: timeouts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      query_timeout: timeouts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      // normalizeTimestamp() reads the ISO text form; a server could be configured with another.
      options: '-c DateStyle=ISO,YMD',
      types,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', () => undefined);
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.#scope.assertOutside();
    return runQuery<T>(this.#pool, sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    this.#scope.assertOutside();
    return runStatement(this.#pool, sql, params);
  }

  async transaction<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    this.#scope.assertOutside();
    return this.withClient((session) => session.transaction(fn));
  }

  /**
   * Runs `fn` with one connection held, e.g. around migrations under a session advisory lock.
   * The session's `transaction()` opens a real transaction on that connection.
   */
  async withClient<T>(fn: (session: Db) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    // Why: the server may end a session the store holds between two statements (a restart,
    // pg_terminate_backend); pg then emits `error` on the checked-out client, which the pool's own
    // listener (idle clients only) does not hear: unheard, it is an uncaught exception. The next
    // statement on it rejects, and the connection is dropped instead of going back to the pool.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    const session = sessionView(client, this.#scope, onError);
    try {
      return await fn(session);
    } finally {
      client.removeListener('error', onError);
      // A connection whose ROLLBACK failed is in an unknown state: drop it rather than reuse it.
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}

function sessionView(client: pg.PoolClient, scope: TransactionScope, markBroken: () => void): Db {
  return {
    dialect: 'postgres',
    query: <T>(sql: string, params: readonly unknown[] = []) => runQuery<T>(client, sql, params),
    run: (sql: string, params: readonly unknown[] = []) => runStatement(client, sql, params),
    transaction: <T>(fn: (db: Db) => Promise<T>) =>
      scope.run(async (state) => {
        await client.query('BEGIN');
        try {
          const value = await fn(transactionView(client, state));
          await client.query('COMMIT');
          return value;
        } catch (err) {
          await client.query('ROLLBACK').catch(markBroken);
          throw err;
        }
      }),
    close: async () => undefined,
  };
}

/** The Db handed to a transaction's callback; nested transactions join it. */
function transactionView(client: pg.PoolClient, state: TransactionState): Db {
  const view: Db = {
    dialect: 'postgres',
    query: async <T>(sql: string, params: readonly unknown[] = []) => {
      assertOpen(state);
      return runQuery<T>(client, sql, params);
    },
    run: async (sql: string, params: readonly unknown[] = []) => {
      assertOpen(state);
      return runStatement(client, sql, params);
    },
    transaction: async <T>(fn: (db: Db) => Promise<T>) => {
      assertOpen(state);
      return fn(view);
    },
    close: async () => undefined,
  };
  return view;
}

async function runQuery<T>(q: Queryable, sql: string, params: readonly unknown[]): Promise<T[]> {
  try {
    const r = await q.query(sql, params as unknown[]);
    return r.rows as T[];
  } catch (err) {
    throw mapPgError(err);
  }
}

async function runStatement(
  q: Queryable,
  sql: string,
  params: readonly unknown[],
): Promise<{ changes: number }> {
  try {
    const r = await q.query(sql, params as unknown[]);
    return { changes: r.rowCount ?? 0 };
  } catch (err) {
    throw mapPgError(err);
  }
}

/** Unique violations (23505) become `already_exists`; anything else is left as it is. */
function mapPgError(err: unknown): unknown {
  if ((err as { code?: string }).code === '23505') {
    return new SfuError('already_exists', 'a row with the same unique value exists', { cause: err });
  }
  return err;
}
