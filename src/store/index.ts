// store: persistence of users, rooms, members, participants and messages, on the embedded SQLite
// database (node:sqlite) or PostgreSQL, behind one set of repositories. May import lib/ only.
import { createStore, type OpenStoreOptions, openDb } from './store.ts';
import type { Store } from './types.ts';

export type { OpenStoreOptions } from './store.ts';
export { type NowSource, nowTimestamp, toTimestamp } from './timestamps.ts';
export * from './types.ts';
export * from './wire.ts';

/** Opens (and migrates) PostgreSQL when `url` is given, otherwise SQLite at `sqlitePath`. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  return createStore(await openDb(options), options.clock);
}
