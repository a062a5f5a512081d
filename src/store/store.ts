import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../lib/clock.ts';
import { SfuError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Db } from './db.ts';
import { createRoomGrantRepository } from './grant-repository.ts';
import { createMemberRepository } from './member-repository.ts';
import { createMessageRepository } from './message-repository.ts';
import { migrate } from './migrations.ts';
import { createParticipantRepository } from './participant-repository.ts';
import type { PostgresTimeouts } from './postgres-db.ts';
import { createRoomRepository } from './room-repository.ts';
import { SqliteDb } from './sqlite-db.ts';
import type { NowSource } from './timestamps.ts';
import type { Store } from './types.ts';
import { createUserRepository } from './user-repository.ts';

export interface OpenStoreOptions {
  /** `postgres://…` or `postgresql://…` selects PostgreSQL; without it, the embedded database. */
  url?: string | undefined;
  /** File of the embedded database (its directory is created), or `:memory:` (the default). */
  sqlitePath?: string | undefined;
  /** Source of the timestamps the store writes; the system clock unless a test sets one. */
  clock?: NowSource | undefined;
  /** PostgreSQL's connect and query timeouts (defaults in postgres-db.ts). */
  timeouts?: PostgresTimeouts | undefined;
  /** Where outages are logged (one warn when one starts); silent when not given. */
  logger?: Logger | undefined;
}

/** Opens the database the options name and brings its schema up to date. */
export async function openDb(options: OpenStoreOptions): Promise<Db> {
  if (options.url) {
    if (!/^postgres(ql)?:\/\//.test(options.url)) {
      throw new SfuError('invalid_argument', 'the database URL must start with postgres:// or postgresql://');
    }
    // pg and its protocol modules are loaded only here: the embedded default never needs them.
    const { PostgresDb } = await import('./postgres-db.ts');
    const db = new PostgresDb(options.url, options.timeouts);
    return migrated(db, () => db.withClient(migrate));
  }
  const file = options.sqlitePath ?? ':memory:';
  if (file !== ':memory:') await mkdir(path.dirname(file), { recursive: true });
  const db = new SqliteDb(file);
  return migrated(db, () => migrate(db));
}

async function migrated(db: Db, run: () => Promise<unknown>): Promise<Db> {
  try {
    await run();
    return db;
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** The repositories over `db`; `transaction` gives repositories bound to the transaction's Db. */
export function createStore(db: Db, clock: NowSource = systemClock): Store {
  return {
    dialect: db.dialect,
    users: createUserRepository(db, clock),
    rooms: createRoomRepository(db, clock),
    members: createMemberRepository(db, clock),
    participants: createParticipantRepository(db, clock),
    messages: createMessageRepository(db, clock),
    grants: createRoomGrantRepository(db, clock),
    transaction: (fn) => db.transaction((tx) => fn(createStore(tx, clock))),
    async ping() {
      await db.query('SELECT 1 AS ok');
    },
    close: () => db.close(),
  };
}
