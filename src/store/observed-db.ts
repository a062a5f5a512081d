import type { Logger } from '../lib/logger.ts';
import type { Db } from './db.ts';
import {
  isStoreUnavailable,
  type StoreFailure,
  type StoreUnavailableError,
  toStoreError,
} from './store-errors.ts';

/**
 * The Db the repositories use: every error leaving the database passes here once, where driver
 * errors meaning "out of service" become a StoreUnavailableError (store-errors.ts), and where an
 * outage is logged: one warn when it starts (not one error per request), one info when it ends.
 *
 * An outage of reads (unreachable, I/O error) ends with any success; one of writes only (full
 * disk, read-only) ends with a successful write, as reads keep working all along.
 */
export class ObservedDb implements Db {
  readonly dialect: Db['dialect'];
  readonly #inner: Db;
  readonly #log: Logger;
  #outage: { failure: StoreFailure; sinceMs: number } | undefined;

  constructor(inner: Db, log: Logger) {
    this.dialect = inner.dialect;
    this.#inner = inner;
    this.#log = log;
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.#observe(() => this.#inner.query<T>(sql, params), { write: false });
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }> {
    return this.#observe(() => this.#inner.run(sql, params), { write: true });
  }

  transaction<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return this.#observe(() => this.#inner.transaction(fn), { write: true });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** The failure going on now, if any (for tests and readiness). */
  get outage(): StoreFailure | undefined {
    return this.#outage?.failure;
  }

  async #observe<T>(op: () => Promise<T>, options: { write: boolean }): Promise<T> {
    let value: T;
    try {
      value = await op();
    } catch (err) {
      const mapped = toStoreError(err);
      if (isStoreUnavailable(mapped)) this.#failed(mapped);
      throw mapped;
    }
    this.#succeeded(options);
    return value;
  }

  #failed(err: StoreUnavailableError): void {
    // Why: every request of the outage fails the same way; only its start is worth a line.
    if (this.#outage?.failure === err.failure) return;
    this.#outage = { failure: err.failure, sinceMs: Date.now() };
    this.#log.warn({ failure: err.failure, dialect: this.dialect, err: err.cause }, 'database unavailable');
  }

  #succeeded(options: { write: boolean }): void {
    const outage = this.#outage;
    if (!outage) return;
    // Why: with a full disk or a read-only file, reads succeed while writes still fail.
    if (!options.write && (outage.failure === 'storage_full' || outage.failure === 'read_only')) return;
    this.#outage = undefined;
    this.#log.info(
      { failure: outage.failure, downMs: Date.now() - outage.sinceMs },
      'database available again',
    );
  }
}
