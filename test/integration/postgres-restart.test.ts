import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { type LogLine, RoleProcess } from '../cluster/cluster.ts';
import {
  connectSocket,
  delay,
  login,
  nextEvent,
  type RestCall,
  restClient,
  roomWithParticipants,
} from '../support/clients.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { API_KEY, JWT_SECRET, REFRESH_SECRET } from '../support/server.ts';

/** A post must be answered (201 or 503) within this; the pool's connect timeout is 2 s here. */
const POST_BOUND_MS = 6_000;
const POST_INTERVAL_MS = 100;
/** Posts keep coming this long after PostgreSQL accepts connections again. */
const AFTER_RESTART_MS = 1_500;
const MAX_POSTS = 200;
const PINO_WARN = 40;
const PINO_ERROR = 50;

interface PostResult {
  index: number;
  status: number | 'timeout';
  retryAfter: string | null;
  body: unknown;
}

function publishPayload(roomId: string, participantId: string) {
  return {
    sdp: 'v=0\r\n',
    roomId,
    participantId,
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: 0,
  };
}

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** POST /chats/:roomId with a hard bound: a hang shows as `timeout`, never as a stuck test. */
async function post(baseUrl: string, token: string, roomId: string, index: number): Promise<PostResult> {
  try {
    const res = await fetch(`${baseUrl}/busapi/v3/chats/${roomId}`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: `m${index}` }),
      signal: AbortSignal.timeout(POST_BOUND_MS),
    });
    const text = await res.text();
    return { index, status: res.status, retryAfter: res.headers.get('retry-after'), body: JSON.parse(text) };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError')
      return { index, status: 'timeout', retryAfter: null, body: null };
    throw err;
  }
}

/** Every message text of the room, read page by page (newest first, 100 a page). */
async function storedTexts(call: RestCall, token: string, roomId: string): Promise<Set<string>> {
  const texts = new Set<string>();
  for (let skip = 0; skip < 10_000; skip += 100) {
    const res = await call<{ messages: Array<{ data: string }> }>(
      'GET',
      `/chats/${roomId}?skip=${skip}&limit=100`,
      { token },
    );
    assert.equal(res.status, 200);
    for (const m of res.body.messages) texts.add(m.data);
    if (res.body.messages.length < 100) break;
  }
  return texts;
}

describe('a PostgreSQL restart during a call and chat (bbmeet start on DATABASE_URL)', () => {
  let postgres: TestPostgres;
  let server: RoleProcess;
  let baseUrl: string;
  let dataDir: string;
  let databaseUrl: string;

  before(async () => {
    postgres = await startPostgres();
    databaseUrl = await postgres.createDatabase('restart');
    dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-pg-restart-'));
    const port = await freeTcpPort();
    server = new RoleProcess('server', 'start', {
      DATABASE_URL: databaseUrl,
      DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
      APP_HOST: '127.0.0.1',
      APP_PORT: String(port),
      DATA_DIR: dataDir,
      MEDIA_ENABLED: 'false',
      CLIENT_SECRET_KEY: API_KEY,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_REFRESH_SECRET: REFRESH_SECRET,
      LOG_LEVEL: 'info',
    });
    await server.waitForLog((l) => l.msg.startsWith('bbmeet ready'));
    baseUrl = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await server?.kill('SIGKILL');
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    assert.deepEqual(server?.faults() ?? [], [], 'the server logged no process faults');
  });

  it('chat posts during the restart answer 201 or 503 with Retry-After (never 500, never a hang), every 201 is stored, sockets stay and a socket event gets `unavailable`', async (t) => {
    const call = restClient(baseUrl);
    const alice = await login(call, 'restart-alice', 'Alice');
    const bob = await login(call, 'restart-bob', 'Bob');
    const carol = await login(call, 'restart-carol', 'Carol');
    const room = await roomWithParticipants(call, [alice, bob, carol], 'Restart');
    const sockets = await Promise.all([alice, bob, carol].map((u) => connectSocket(baseUrl, u.token)));
    const [a, b, c] = sockets as [Socket, Socket, Socket];
    const disconnects: string[] = [];
    for (const [i, s] of sockets.entries())
      s.on('disconnect', (reason) => disconnects.push(`${i}: ${reason}`));
    try {
      await publishBoth(room, a, b);
      const logsBefore = server.logs.length;

      const results: Promise<PostResult>[] = [];
      let restarted = false;
      let restartedAt = 0;
      const restart = postgres.restart({ downMs: 1_000 }).then(() => {
        restarted = true;
        restartedAt = Date.now();
      });
      // While PostgreSQL is down: Carol publishing needs the database, so it answers `unavailable`.
      const outageAck = waitForOutage(baseUrl).then(() =>
        c.timeout(POST_BOUND_MS).emitWithAck('room.publish', publishPayload(room.roomId, room.pids[2]!)),
      );
      for (let i = 0; i < MAX_POSTS; i++) {
        if (restarted && Date.now() - restartedAt > AFTER_RESTART_MS) break;
        results.push(post(baseUrl, bob.token, room.roomId, i));
        await delay(POST_INTERVAL_MS);
      }
      await restart;
      const answers = await Promise.all(results);

      const bad = answers.filter(
        (r) => !(r.status === 201 || (r.status === 503 && r.retryAfter !== null && Number(r.retryAfter) > 0)),
      );
      assert.deepEqual(bad, [], 'every post answered 201, or 503 with Retry-After, within the bound');
      const unavailable = answers.filter((r) => r.status === 503);
      assert.ok(unavailable.length > 0, 'some posts came while PostgreSQL was down');
      for (const r of unavailable) assert.match((r.body as { message: string }).message, /database/i);
      assert.equal(answers.at(-1)?.status, 201, 'posts succeed again after the restart');
      t.diagnostic(`${answers.length} posts: ${unavailable.length} answered 503, the others 201`);
      const ready = await fetch(`${baseUrl}/readyz`);
      assert.equal(ready.status, 200, `ready again: ${await ready.text()}`);

      const ack = (await outageAck) as { error?: { code: string } };
      assert.equal(ack.error?.code, 'unavailable', `room.publish during the outage: ${JSON.stringify(ack)}`);

      const stored = await storedTexts(call, alice.token, room.roomId);
      const lost = answers.filter((r) => r.status === 201 && !stored.has(`m${r.index}`));
      assert.deepEqual(lost, [], 'every acknowledged message is stored');

      assert.deepEqual(disconnects, [], 'no socket was disconnected');
      await eventsStillFlow(room, a, b, c);

      const outageLogs = server.logs.slice(logsBefore);
      const errors = outageLogs.filter((l) => l.level >= PINO_ERROR);
      assert.deepEqual(errors, [], 'no error-level log lines for the outage');
      const warns = outageLogs.filter((l: LogLine) => l.level === PINO_WARN);
      assert.equal(warns.length, 1, `one warn for the outage: ${JSON.stringify(warns)}`);
      assert.equal(warns[0]?.msg, 'database unavailable');
      assert.ok(outageLogs.some((l) => l.msg === 'database available again'));
    } finally {
      for (const s of sockets) s.close();
    }
  });

  it('a participant whose socket drops while PostgreSQL is down is recorded as left once it is back (the leave is retried, not lost)', async () => {
    const call = restClient(baseUrl);
    const dan = await login(call, 'restart-dan', 'Dan');
    const erin = await login(call, 'restart-erin', 'Erin');
    const room = await roomWithParticipants(call, [dan, erin], 'Restart leave');
    const [d, e] = (await Promise.all([dan, erin].map((u) => connectSocket(baseUrl, u.token)))) as [
      Socket,
      Socket,
    ];
    try {
      await publishBoth(room, d, e);
      const logsBefore = server.logs.length;
      const restart = postgres.restart({ downMs: 1_500 });
      await waitForOutage(baseUrl);
      const left = nextEvent<{ targetId: string }>(e, 'room.participant_left', 10_000);
      d.close();
      assert.equal((await left).targetId, room.pids[0], 'the room hears the leave during the outage');
      await restart;
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        let status: number | undefined;
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          const rows = await db.query<{ status: number; node_id: string | null }>(
            'SELECT status, node_id FROM participants WHERE id = $1',
            [Number(room.pids[0])],
          );
          status = rows.rows[0]?.status;
          if (status === 1) break;
          await delay(200);
        }
        assert.equal(status, 1, "Dan's participant row says he left");
      } finally {
        await db.end();
      }
      const errors = server.logs.slice(logsBefore).filter((l) => l.level >= PINO_ERROR);
      assert.deepEqual(errors, [], 'the leave did not fail');
    } finally {
      d.close();
      e.close();
    }
  });

  /** Alice and Bob publish (P2P: no media engine); Alice sees Bob announced. */
  async function publishBoth(room: { roomId: string; pids: string[] }, a: Socket, b: Socket): Promise<void> {
    const bobSeen = nextEvent(a, 'room.new_participant');
    assert.deepEqual(
      await a.timeout(3000).emitWithAck('room.publish', publishPayload(room.roomId, room.pids[0]!)),
      {},
    );
    assert.deepEqual(
      await b.timeout(3000).emitWithAck('room.publish', publishPayload(room.roomId, room.pids[1]!)),
      {},
    );
    await bobSeen;
  }

  /** After the restart: a media-state toggle reaches the room, and Carol can publish and be announced. */
  async function eventsStillFlow(
    room: { roomId: string; pids: string[] },
    a: Socket,
    b: Socket,
    c: Socket,
  ): Promise<void> {
    const toggled = nextEvent<{ participantId: string }>(b, 'room.video_enabled');
    a.emit('room.video_enabled', { isEnabled: false });
    assert.equal((await toggled).participantId, room.pids[0]);
    const announced = nextEvent<{ participant: { id: string } }>(a, 'room.new_participant');
    const ack = await c.timeout(5000).emitWithAck('room.publish', publishPayload(room.roomId, room.pids[2]!));
    assert.deepEqual(ack, {});
    assert.equal(String((await announced).participant.id), room.pids[2]);
  }
});

/** Resolves once /readyz says not ready (the database is down), polling at most 20 s. */
async function waitForOutage(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(POST_BOUND_MS) });
    await res.body?.cancel();
    if (res.status === 503) return;
    await delay(20);
  }
  throw new Error('/readyz never said not ready while PostgreSQL was down');
}
