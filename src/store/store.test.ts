import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.ts';
import { UserId } from '../lib/ids.ts';
import { openStore } from './index.ts';
import { MIGRATION_VERSIONS, migrate } from './migrations.ts';
import { PostgresDb } from './postgres-db.ts';
import { SqliteDb } from './sqlite-db.ts';
import { createStore, openDb } from './store.ts';
import { accessTests } from './store-suite-access.ts';
import { activityTests, listingTests } from './store-suite-activity.ts';
import { entityTests } from './store-suite-entities.ts';
import { type Fixture, type OpenedStore, rejectsWith, TestClock } from './store-suite-fixture.ts';
import { transactionTests } from './store-suite-transactions.ts';
import type { Store } from './types.ts';

const allVersions = [...MIGRATION_VERSIONS];

/** The one store suite, run against every database the server supports. */
function storeSuite(name: string, open: (clock: TestClock) => Promise<OpenedStore>): void {
  describe(`store on ${name}`, () => {
    const clock = new TestClock();
    const ctx = {} as Fixture;
    before(async () => {
      Object.assign(ctx, await open(clock), { clock });
    });
    after(() => ctx.store?.close());
    entityTests(ctx);
    activityTests(ctx);
    listingTests(ctx);
    accessTests(ctx);
    transactionTests(ctx);
  });
}

storeSuite('SQLite (embedded)', async (clock) => {
  const db = await openDb({ sqlitePath: ':memory:' });
  return { store: createStore(db, clock), db, migrateAgain: () => migrate(db) };
});

describe('PostgreSQL', () => {
  let postgres: TestPostgres;
  before(async () => {
    const startedMs = performance.now();
    postgres = await startPostgres();
    console.log(`# PostgreSQL started in ${Math.round(performance.now() - startedMs)} ms`);
  });
  after(() => postgres?.stop());

  storeSuite('PostgreSQL', async (clock) => {
    const db = await openDb({ url: await postgres.createDatabase('store') });
    assert.ok(db instanceof PostgresDb);
    return { store: createStore(db, clock), db, migrateAgain: () => db.withClient(migrate) };
  });

  it('processes migrating one database at once apply each migration once', async () => {
    const url = await postgres.createDatabase('race');
    const stores = await Promise.all([openStore({ url }), openStore({ url }), openStore({ url })]);
    for (const s of stores) await s.close();
    const db = new PostgresDb(url);
    const rows = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    await db.close();
    assert.deepEqual(
      rows.map((r) => r.version),
      allVersions,
    );
  });

  it('transactions run concurrently on their own connections', async () => {
    const store = await openStore({ url: await postgres.createDatabase('concurrent') });
    try {
      const ids = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.transaction((tx) =>
            tx.users.create({ fullName: null, externalId: `e${i}`, userName: `u${i}` }),
          ),
        ),
      );
      assert.equal((await store.users.findManyByIds(ids.map((u) => u.id))).length, 5);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const newUser = (store: Store, n: string) =>
    store.users.create({ fullName: null, externalId: `ext-${n}`, userName: `user-${n}` });

  it('concurrent transactions do not interleave: each sees the commits before it', async () => {
    const store = await openStore({ sqlitePath: ':memory:' });
    const seen = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        store.transaction(async (tx) => {
          const count = (await tx.users.findManyByIds([1, 2, 3, 4, 5].map(UserId))).length;
          await sleep(5);
          await newUser(tx, String(i));
          return count;
        }),
      ),
    );
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    await store.close();
  });

  it('a query outside a transaction waits for it, and survives its rollback', async () => {
    const store = await openStore({ sqlitePath: ':memory:' });
    const { promise: opened, resolve: markOpened } = Promise.withResolvers<void>();
    const failing = store.transaction(async (tx) => {
      await newUser(tx, 'inside');
      markOpened();
      await sleep(20);
      throw new Error('boom');
    });
    await opened; // the transaction is open now: the next write must wait for it to end
    const outside = newUser(store, 'outside');
    await assert.rejects(failing, /boom/);
    await outside;
    assert.ok(await store.users.findByExternalId('ext-outside'));
    assert.equal(await store.users.findByExternalId('ext-inside'), undefined);
    await store.close();
  });

  it('a file database: the directory is made, reopening keeps the data and migrates nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-store-'));
    const file = path.join(dir, 'nested', 'bbmeet.sqlite');
    try {
      const first = await openStore({ sqlitePath: file });
      await newUser(first, 'kept');
      await first.close();
      const db = new SqliteDb(file);
      assert.deepEqual(await migrate(db), []);
      await db.close();
      const second = await openStore({ sqlitePath: file });
      assert.ok(await second.users.findByExternalId('ext-kept'));
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('migrations on a new database apply every version, then none', async () => {
    const db = new SqliteDb(':memory:');
    assert.deepEqual(await migrate(db), allVersions);
    assert.deepEqual(await migrate(db), []);
    await db.close();
  });

  it('openStore() refuses a URL that is not PostgreSQL', async () => {
    await assert.rejects(openStore({ url: 'mysql://localhost/x' }), rejectsWith('invalid_argument'));
  });
});
