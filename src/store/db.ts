import { AsyncLocalStorage } from 'node:async_hooks';
import { SfuError } from '../lib/errors.ts';

/**
 * The one query layer under the repositories. SQL is written once with `$1, $2…` placeholders in
 * the subset both SQLite (≥ 3.45) and PostgreSQL 15 accept (RETURNING, LIMIT/OFFSET, partial
 * indexes); timestamps are parameters made in JavaScript, never `now()`.
 */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction; inside it, `fn`'s Db must be used. Nested calls reuse it. */
  transaction<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function queryOne<T>(db: Db, sql: string, params?: readonly unknown[]): Promise<T | undefined> {
  const rows = await db.query<T>(sql, params);
  return rows[0];
}

/** Whether a transaction's callback is still running (its Db is usable only until then). */
export interface TransactionState {
  open: boolean;
}

/**
 * Tracks the transactions of one Db through async context, to turn two mistakes into errors:
 * using the outer Db inside its own transaction (on SQLite that waits for the transaction to end,
 * which waits for the query: a silent hang), and using a transaction's Db after it ended.
 */
export class TransactionScope {
  readonly #current = new AsyncLocalStorage<TransactionState>();

  async run<T>(fn: (state: TransactionState) => Promise<T>): Promise<T> {
    const state: TransactionState = { open: true };
    try {
      return await this.#current.run(state, () => fn(state));
    } finally {
      state.open = false;
    }
  }

  assertOutside(): void {
    if (this.#current.getStore()?.open) {
      throw new SfuError(
        'internal',
        'the store was used inside one of its own transactions: use the store passed to transaction()',
      );
    }
  }
}

export function assertOpen(state: TransactionState): void {
  if (!state.open) throw new SfuError('internal', 'the transaction has already ended');
}
