// store: persistence of users, rooms, members, participants and messages, on the embedded SQLite
// database (node:sqlite) or PostgreSQL, behind one set of repositories. May import lib/ only.
import { silentLogger } from '../lib/logger.ts';
import { ObservedDb } from './observed-db.ts';
import { createStore, type OpenStoreOptions, openDb } from './store.ts';
import type { Store } from './types.ts';

export type { OpenStoreOptions } from './store.ts';
export {
  isStoreUnavailable,
  STORE_RETRY_AFTER_S,
  type StoreFailure,
  StoreUnavailableError,
} from './store-errors.ts';
export { type NowSource, nowTimestamp, toTimestamp } from './timestamps.ts';
export * from './types.ts';
export * from './wire.ts';

/**
 * Opens (and migrates) PostgreSQL when `url` is given, otherwise SQLite at `sqlitePath`. A database
 * out of service fails requests with StoreUnavailableError, and its outages are logged once each.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const db = new ObservedDb(await openDb(options), options.logger ?? silentLogger());
  return createStore(db, options.clock);
}
