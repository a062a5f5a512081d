import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { SfuError } from '../lib/errors.ts';
import type { Db } from './db.ts';

/**
 * SQLite through Node's built-in `node:sqlite`. The driver is synchronous and there is one
 * connection, so transactions are serialised with a promise chain: a query outside a transaction
 * waits for a running transaction to end, and two async transactions never interleave.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly #db: DatabaseSync;
  #lock: Promise<unknown> = Promise.resolve();
  readonly #statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;',
    );
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    await this.#lock;
    return this.#all<T>(sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    await this.#lock;
    return this.#run(sql, params);
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  transaction<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const result = this.#lock.then(async () => {
      const tx = this.#txView();
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn(tx);
        this.#db.exec('COMMIT');
        return value;
      } catch (err) {
        this.#db.exec('ROLLBACK');
        throw err;
      }
    });
    this.#lock = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.#lock;
    this.#statements.clear();
    this.#db.close();
  }

  /** The Db handed to a transaction's callback: runs at once, nested transactions join it. */
  #txView(): Db {
    return {
      dialect: 'sqlite',
      query: async <T>(sql: string, params: readonly unknown[] = []) => this.#all<T>(sql, params),
      run: async (sql: string, params: readonly unknown[] = []) => this.#run(sql, params),
      transaction: <T>(fn: (db: Db) => Promise<T>) => fn(this.#txView()),
      close: async () => undefined,
    };
  }

  #prepare(sql: string) {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      // `$n` → `?n`: SQLite's numbered parameters keep the explicit index.
      stmt = this.#db.prepare(sql.replace(/\$(\d+)/g, '?$1'));
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #all<T>(sql: string, params: readonly unknown[]): T[] {
    try {
      return this.#prepare(sql).all(...(params as SQLInputValue[])) as T[];
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  #run(sql: string, params: readonly unknown[]): { changes: number } {
    try {
      const r = this.#prepare(sql).run(...(params as SQLInputValue[]));
      return { changes: Number(r.changes) };
    } catch (err) {
      throw mapSqliteError(err);
    }
  }
}

function mapSqliteError(err: unknown): unknown {
  const e = err as { errcode?: number; message?: string };
  // 2067 SQLITE_CONSTRAINT_UNIQUE, 1555 SQLITE_CONSTRAINT_PRIMARYKEY
  if (e.errcode === 2067 || e.errcode === 1555) {
    return new SfuError('already_exists', 'a row with the same unique value exists', { cause: err });
  }
  return err;
}
