import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresDb } from '../../src/store/postgres-db.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

/**
 * A PostgreSQL session ended by the server while the store holds it between two statements (a
 * transaction waiting on the application, as when PostgreSQL restarts or an operator runs
 * pg_terminate_backend). pg emits `error` on such a checked-out client; without a listener that
 * is an uncaught exception, and a cluster signalling instance died of it during a PostgreSQL
 * restart ("terminating connection due to administrator command", logged as fatal).
 */

describe('a PostgreSQL session terminated while the store holds it', () => {
  let server: TestPostgres;
  let db: PostgresDb;
  let admin: pg.Client;

  before(async () => {
    server = await startPostgres();
    db = new PostgresDb(await server.createDatabase('terminated_session'));
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });

  after(async () => {
    await admin?.end();
    await db?.close();
    await server?.stop();
  });

  it('fails that transaction cleanly, the process goes on, and the next query gets a fresh connection', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const outcome = db.transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        assert.ok(row);
        const { pid } = row;
        // The server ends the session while the application holds it between statements.
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.query('SELECT 1');
      });
      await assert.rejects(outcome, 'the transaction reports the lost session');
      assert.deepEqual(uncaught, [], 'no uncaught exception from the terminated session');
      const [row] = await db.query<{ one: number }>('SELECT 1 AS one');
      assert.equal(row?.one, 1, 'the pool hands out a working connection afterwards');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
