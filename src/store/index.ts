// store: persistence of users, rooms, members, participants and messages, on the embedded SQLite
// database (node:sqlite) or PostgreSQL, behind one set of repositories. May import lib/ only.
import type { Db } from './db.ts';
import { createMemberRepository } from './member-repository.ts';
import { createMessageRepository } from './message-repository.ts';
import { migrate } from './migrations.ts';
import { createParticipantRepository } from './participant-repository.ts';
import { PostgresDb } from './postgres-db.ts';
import { createRoomRepository } from './room-repository.ts';
import { SqliteDb } from './sqlite-db.ts';
import type { Store } from './types.ts';
import { createUserRepository } from './user-repository.ts';

export { nowTimestamp, toTimestamp } from './timestamps.ts';
export * from './types.ts';
export * from './wire.ts';

export interface OpenStoreOptions {
  /** `postgres://…` selects PostgreSQL; otherwise the embedded database at `sqlitePath`. */
  url?: string | undefined;
  /** File of the embedded database, or `:memory:`. */
  sqlitePath?: string | undefined;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.url && /^postgres(ql)?:\/\//.test(options.url)) {
    const db = new PostgresDb(options.url);
    try {
      // Two processes starting together must not both run the migrations.
      await db.withClient(async (c) => {
        await c.query('SELECT pg_advisory_lock(724166)');
        try {
          await migrate(c);
        } finally {
          await c.query('SELECT pg_advisory_unlock(724166)');
        }
      });
    } catch (err) {
      await db.close();
      throw err;
    }
    return storeOver(db, db);
  }
  const path = options.sqlitePath ?? ':memory:';
  if (path !== ':memory:')
    await import('node:fs/promises').then((fs) => fs.mkdir(dirname(path), { recursive: true }));
  const db = new SqliteDb(path);
  await migrate(db);
  return storeOver(db, db);
}

function dirname(file: string): string {
  const i = file.lastIndexOf('/');
  return i > 0 ? file.slice(0, i) : '.';
}

function storeOver(db: Db, root: Db): Store {
  const store: Store & { __db: Db } = {
    // The raw query layer, for tests that must reach below the repositories.
    __db: db,
    dialect: db.dialect,
    users: createUserRepository(db),
    rooms: createRoomRepository(db),
    members: createMemberRepository(db),
    participants: createParticipantRepository(db),
    messages: createMessageRepository(db),
    transaction: (fn) => db.transaction((tx) => fn(storeOver(tx, root))),
    async ping() {
      await db.query('SELECT 1 AS ok');
    },
    close: () => root.close(),
  };
  return store;
}
