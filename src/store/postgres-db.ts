import pg from 'pg';
import { SfuError } from '../lib/errors.ts';
import type { Db } from './db.ts';

const TIMESTAMP_OID = 1114;
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** PostgreSQL through a `pg` pool; a transaction holds one client from BEGIN to COMMIT/ROLLBACK. */
export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;

  constructor(url: string) {
    const types = {
      getTypeParser: ((oid: number, format?: string) => {
        // Timestamps stay text (the store normalises them); counts and bigints become numbers.
        if (oid === TIMESTAMP_OID) return (v: string) => v;
        if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => Number(v);
        return pg.types.getTypeParser(oid, format as 'text');
      }) as typeof pg.types.getTypeParser,
    };
    this.#pool = new pg.Pool({ connectionString: url, max: 10, types });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', () => undefined);
  }

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return runQuery<T>(this.#pool, sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    return runStatement(this.#pool, sql, params);
  }

  async transaction<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const value = await fn(clientView(client));
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Runs `fn` with one connection held (for advisory locks around migrations). */
  async withClient<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      return await fn(clientView(client));
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}

type Queryable = pg.Pool | pg.PoolClient;

function clientView(client: pg.PoolClient): Db {
  const view: Db = {
    dialect: 'postgres',
    query: <T>(sql: string, params: readonly unknown[] = []) => runQuery<T>(client, sql, params),
    run: (sql: string, params: readonly unknown[] = []) => runStatement(client, sql, params),
    transaction: (fn) => fn(view),
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

function mapPgError(err: unknown): unknown {
  if ((err as { code?: string }).code === '23505') {
    return new SfuError('already_exists', 'a row with the same unique value exists', { cause: err });
  }
  return err;
}
