import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { SfuError } from '../lib/errors.ts';
import type { Db } from './db.ts';
import { ObservedDb } from './observed-db.ts';
import { PostgresDb } from './postgres-db.ts';
import { isStoreUnavailable, StoreUnavailableError } from './store-errors.ts';

/** A pino logger whose lines are kept, parsed. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string; failure?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** A Db whose next operations fail with the queued errors, then succeed. */
function scriptedDb() {
  const failures: unknown[] = [];
  const next = async <T>(value: T): Promise<T> => {
    const err = failures.shift();
    if (err !== undefined) throw err;
    return value;
  };
  const db: Db = {
    dialect: 'postgres',
    query: <T>() => next<T[]>([]),
    run: () => next({ changes: 1 }),
    transaction: <T>(fn: (tx: Db) => Promise<T>) => next(undefined).then(() => fn(db)),
    close: async () => undefined,
  };
  return { db, fail: (...errs: unknown[]) => failures.push(...errs) };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const adminShutdown = Object.assign(new Error('terminating connection due to administrator command'), {
  code: '57P01',
});
const sqliteFull = Object.assign(new Error('database or disk is full'), {
  code: 'ERR_SQLITE_ERROR',
  errcode: 13,
});

describe('ObservedDb', () => {
  it('turns a refused connection into StoreUnavailableError (unavailable, unreachable), cause kept', async () => {
    const { db, fail } = scriptedDb();
    fail(refused);
    const err = await new ObservedDb(db, recordingLogger().log).query('SELECT 1').catch((e: unknown) => e);
    assert.ok(isStoreUnavailable(err));
    assert.equal(err.code, 'unavailable');
    assert.equal(err.failure, 'unreachable');
    assert.equal(err.cause, refused);
    assert.match(err.message, /database is unavailable/);
  });

  it('logs an outage once at warn however many requests fail, and once at info when it ends', async () => {
    const { db, fail } = scriptedDb();
    const { log, lines } = recordingLogger();
    const observed = new ObservedDb(db, log);
    fail(adminShutdown, refused, refused, refused);
    for (let i = 0; i < 4; i++) await assert.rejects(observed.run('INSERT'), isStoreUnavailable);
    assert.equal(observed.outage, 'unreachable');
    await observed.query('SELECT 1');
    assert.equal(observed.outage, undefined);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.failure]),
      [
        [40, 'database unavailable', 'unreachable'],
        [30, 'database available again', 'unreachable'],
      ],
    );
  });

  it('a full disk stays an outage while reads succeed, and ends with a successful write', async () => {
    const { db, fail } = scriptedDb();
    const { log, lines } = recordingLogger();
    const observed = new ObservedDb(db, log);
    fail(sqliteFull);
    const err = await observed.transaction(async () => 1).catch((e: unknown) => e);
    assert.ok(err instanceof StoreUnavailableError && err.failure === 'storage_full');
    await observed.query('SELECT 1');
    assert.equal(observed.outage, 'storage_full');
    await observed.run('INSERT');
    assert.equal(observed.outage, undefined);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['database unavailable', 'database available again'],
    );
  });

  it('leaves other errors as they are and logs nothing for them', async () => {
    const { db, fail } = scriptedDb();
    const { log, lines } = recordingLogger();
    const syntax = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
    const notFound = new SfuError('not_found', 'no such room');
    fail(syntax, notFound);
    const observed = new ObservedDb(db, log);
    assert.equal(await observed.query('SELEC').catch((e: unknown) => e), syntax);
    assert.equal(await observed.query('SELECT').catch((e: unknown) => e), notFound);
    assert.deepEqual(lines, []);
  });
});

describe('PostgresDb timeouts', () => {
  it('a query against a server that never answers fails `unavailable` after the connect timeout, not never', async () => {
    // Accepts TCP connections and says nothing: PostgreSQL hung, or a black-holed network path.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const db = new ObservedDb(
      new PostgresDb(`postgres://u@127.0.0.1:${port}/db`, { connectTimeoutMs: 300 }),
      recordingLogger().log,
    );
    try {
      const err = await db.query('SELECT 1').catch((e: unknown) => e);
      assert.ok(isStoreUnavailable(err), `got ${String(err)}`);
      assert.equal(err.failure, 'unreachable');
    } finally {
      await db.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
