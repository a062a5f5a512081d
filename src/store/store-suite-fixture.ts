import { isSfuError, type SfuErrorCode } from '../lib/errors.ts';
import type { Db } from './db.ts';
import { type NowSource, toTimestamp } from './timestamps.ts';
import type { Store } from './types.ts';

// What the store tests share (store.test.ts runs them against every database the server
// supports). Each test makes its own users and rooms, so the tests share one database.

/** Time stands still unless a test moves it: rows made together get equal timestamps. */
export class TestClock implements NowSource {
  ms = Date.parse('2025-07-23T10:00:00.000Z');
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  now(): string {
    return toTimestamp(new Date(this.ms));
  }
}

export interface OpenedStore {
  store: Store;
  /** The Db under the store, for what the API cannot do (delete a room row). */
  db: Db;
  /** Runs the migrations again on the same database. */
  migrateAgain(): Promise<number[]>;
}

export const rejectsWith = (code: SfuErrorCode) => (e: unknown) => isSfuError(e) && e.code === code;

export interface Fixture extends OpenedStore {
  clock: TestClock;
}

let serial = 0;
export const unique = (prefix: string) => `${prefix}${++serial}`;

export function makers(ctx: Fixture) {
  return {
    user: () =>
      ctx.store.users.create({ fullName: 'Ada', externalId: unique('ext-'), userName: unique('user') }),
    room: (passwordHash: string | null = null) =>
      ctx.store.rooms.create({ title: 'Room', passwordHash, avatar: null, code: unique('c'), type: 0 }),
  };
}
