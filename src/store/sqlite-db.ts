import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SfuError } from '../lib/errors.ts';
import { assertOpen, type Db, TransactionScope, type TransactionState } from './db.ts';

const BUSY_TIMEOUT_MS = 5000;
/** Prepared statements kept; IN lists of varying length make distinct SQL, so the cache is bounded. */
const MAX_CACHED_STATEMENTS = 500;
const ignore = () => undefined;

/**
 * SQLite through Node's built-in `node:sqlite`. The driver is synchronous and there is one
 * connection, so transactions queue on a promise chain: each starts when the previous one ended,
 * and a query outside a transaction waits behind every transaction queued before it (the chain is
 * FIFO, so nothing queued later can start before it runs). Inside a transaction's callback the
 * statements run at once on the open transaction.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #scope = new TransactionScope();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA synchronous = NORMAL;`,
    );
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.#scope.assertOutside();
    await this.#queue;
    return this.#all<T>(sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    this.#scope.assertOutside();
    await this.#queue;
    return this.#run(sql, params);
  }

  async transaction<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    this.#scope.assertOutside();
    const result = this.#queue.then(() => this.#scope.run((state) => this.#runTransaction(state, fn)));
    this.#queue = result.then(ignore, ignore);
    return result;
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#statements.clear();
    this.#db.close();
  }

  async #runTransaction<T>(state: TransactionState, fn: (db: Db) => Promise<T>): Promise<T> {
    // IMMEDIATE takes the write lock now, so a second process cannot make COMMIT fail with BUSY.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const value = await fn(this.#transactionView(state));
      this.#db.exec('COMMIT');
      return value;
    } catch (err) {
      // SQLite may already have rolled back by itself (e.g. on a full disk).
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /** The Db handed to a transaction's callback: runs at once, nested transactions join it. */
  #transactionView(state: TransactionState): Db {
    const view: Db = {
      dialect: 'sqlite',
      query: async <T>(sql: string, params: readonly unknown[] = []) => {
        assertOpen(state);
        return this.#all<T>(sql, params);
      },
      run: async (sql: string, params: readonly unknown[] = []) => {
        assertOpen(state);
        return this.#run(sql, params);
      },
      transaction: async <T>(fn: (db: Db) => Promise<T>) => {
        assertOpen(state);
        return fn(view);
      },
      close: async () => undefined,
    };
    return view;
  }

  #prepare(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      // `$n` → `?n`: SQLite's numbered parameters keep the explicit index.
      stmt = this.#db.prepare(sql.replace(/\$(\d+)/g, '?$1'));
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) this.#statements.clear();
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

/** Unique and primary-key violations become `already_exists`; anything else is left as it is. */
function mapSqliteError(err: unknown): unknown {
  const e = err as { errcode?: number };
  // 2067 SQLITE_CONSTRAINT_UNIQUE, 1555 SQLITE_CONSTRAINT_PRIMARYKEY
  if (e.errcode === 2067 || e.errcode === 1555) {
    return new SfuError('already_exists', 'a row with the same unique value exists', { cause: err });
  }
  return err;
}
