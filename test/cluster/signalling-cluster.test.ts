import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import {
  connectSocket,
  delay,
  login,
  nextEvent,
  recordEvents,
  restClient,
  roomWithParticipants,
  type TestUser,
} from '../support/clients.ts';
import { startCluster, type TestCluster } from './cluster.ts';

/**
 * Two `bbmeet signalling` processes sharing socket.io rooms through the Redis adapter (PostgreSQL
 * shared): room broadcasts reach sockets on the other instance exactly once, and a participant
 * taken over by a connection on the other instance is detached without leaving the room.
 */

let cluster: TestCluster;
const sockets: Socket[] = [];

const P2P = 0;
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

async function socketOn(url: string, user: TestUser): Promise<Socket> {
  const socket = await connectSocket(url, user.token);
  sockets.push(socket);
  return socket;
}

function publishP2p(socket: Socket, roomId: string, participantId: string): Promise<unknown> {
  return socket.emitWithAck('room.publish', {
    sdp: OFFER,
    roomId,
    participantId,
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: P2P,
  });
}

describe('cluster: signalling instances share rooms', { timeout: 120_000 }, () => {
  before(async () => {
    cluster = await startCluster({ sfuCount: 0, signallingCount: 2 });
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await cluster?.stop();
  });

  it('room events cross instances exactly once; a takeover on the other instance detaches the old socket without a leave', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const call = restClient(one.url);
    const alice = await login(call, 'alice-cluster', 'Alice');
    const bob = await login(call, 'bob-cluster', 'Bob');
    const { roomId, pids } = await roomWithParticipants(call, [alice, bob], 'cluster room');
    const [aliceId, bobId] = pids as [string, string];

    const aliceSocket = await socketOn(one.url, alice);
    const bobSocket = await socketOn(two.url, bob);
    await publishP2p(aliceSocket, roomId, aliceId);
    const seenByAlice = recordEvents(aliceSocket);
    const announced = nextEvent<{ participant: { id: number } }>(aliceSocket, 'room.new_participant', 5000);
    await publishP2p(bobSocket, roomId, bobId);
    assert.equal(String((await announced).participant.id), bobId, 'announced on the other instance');

    const muted = nextEvent<{ participantId: string; isEnabled: boolean }>(aliceSocket, 'room.audio_enabled');
    await bobSocket.emitWithAck('room.audio_enabled', { isEnabled: false });
    assert.deepEqual(await muted, { participantId: bobId, isEnabled: false });
    await delay(500);
    assert.equal(
      seenByAlice.filter((e) => e.event === 'room.audio_enabled').length,
      1,
      'exactly once, not once per instance',
    );

    // Alice comes back on the other instance (her load balancer picked it) before the first one
    // noticed her old socket: the old socket is detached there; nobody is told she left.
    const seenByBob = recordEvents(bobSocket);
    const detached = nextEvent<{ message: string }>(aliceSocket, 'system.error', 5000);
    const disconnected = new Promise((resolve) => aliceSocket.once('disconnect', resolve));
    const aliceAgain = await socketOn(two.url, alice);
    assert.deepEqual(await aliceAgain.emitWithAck('room.reconnect', { roomId, participantId: aliceId }), {
      restored: true,
    });
    assert.match((await detached).message, /taken over/);
    await disconnected;
    await delay(1000);
    assert.deepEqual(
      seenByBob.filter((e) => e.event === 'room.participant_left'),
      [],
      'the old instance did not run the leave flow',
    );
    const unmuted = nextEvent<{ participantId: string }>(bobSocket, 'room.audio_enabled');
    await aliceAgain.emitWithAck('room.audio_enabled', { isEnabled: true });
    assert.equal((await unmuted).participantId, aliceId, 'Alice acts from her new connection');
  });

  it('after a Redis restart, broadcasts cross instances again', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const call = restClient(two.url);
    const carol = await login(call, 'carol-cluster', 'Carol');
    const dave = await login(call, 'dave-cluster', 'Dave');
    const { roomId, pids } = await roomWithParticipants(call, [carol, dave], 'restart room');
    const [carolId, daveId] = pids as [string, string];
    const carolSocket = await socketOn(one.url, carol);
    const daveSocket = await socketOn(two.url, dave);
    await publishP2p(carolSocket, roomId, carolId);
    await publishP2p(daveSocket, roomId, daveId);
    await cluster.redis.restart();
    const restartedAt = Date.now();
    // Dave toggles his hand until Carol, on the other instance, hears of it.
    let raised = false;
    const heard = nextEvent<{ participantId: string }>(carolSocket, 'room.hand_raising', 20_000);
    let done = false;
    void heard.finally(() => {
      done = true;
    });
    while (!done && Date.now() - restartedAt < 20_000) {
      raised = !raised;
      await daveSocket.emitWithAck('room.hand_raising', { isRaising: raised });
      await delay(200);
    }
    assert.equal((await heard).participantId, daveId);
    console.log(`redis restart: broadcasts cross instances again after ${Date.now() - restartedAt} ms`);
  });

  it('Redis down for 5 s while chat is posted: both instances keep serving, and broadcasts cross again after', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const call = restClient(one.url);
    const erin = await login(call, 'erin-cluster', 'Erin');
    const frank = await login(call, 'frank-cluster', 'Frank');
    const { roomId, pids } = await roomWithParticipants(call, [erin, frank], 'outage room');
    const [erinId, frankId] = pids as [string, string];
    const erinSocket = await socketOn(one.url, erin);
    const frankSocket = await socketOn(two.url, frank);
    await publishP2p(erinSocket, roomId, erinId);
    await publishP2p(frankSocket, roomId, frankId);
    // Every chat post is a cross-instance broadcast: while Redis is down each publish fails.
    let posting = true;
    const statuses: number[] = [];
    const poster = (async () => {
      while (posting) {
        const res = await call('POST', `/chats/${roomId}`, {
          token: erin.token,
          body: { data: 'during outage' },
        });
        statuses.push(res.status);
        await delay(100);
      }
    })();
    await cluster.redis.outage(5000);
    posting = false;
    await poster;
    for (const instance of [one, two]) {
      assert.equal(
        instance.process.child.exitCode,
        null,
        `${instance.process.name} is alive; ${instance.process.tail}`,
      );
      assert.equal((await fetch(`${instance.url}/healthz`)).status, 200);
    }
    assert.ok(statuses.length >= 20, `chat posts during the outage: ${statuses.length}`);
    assert.deepEqual([...new Set(statuses)], [201], 'chat is stored in PostgreSQL while Redis is down');
    const heard = nextEvent<{ participantId: string }>(erinSocket, 'room.hand_raising', 20_000);
    let done = false;
    void heard.finally(() => {
      done = true;
    });
    let raised = false;
    const backAt = Date.now();
    while (!done && Date.now() - backAt < 20_000) {
      raised = !raised;
      await frankSocket.emitWithAck('room.hand_raising', { isRaising: raised });
      await delay(200);
    }
    assert.equal((await heard).participantId, frankId);
  });

  it('a signalling instance stops cleanly on SIGTERM during a call (exit 0): its participants are left in the database, the room is told, the other keeps serving', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const call = restClient(two.url);
    const users = [
      await login(call, 'gina-cluster', 'Gina'),
      await login(call, 'hal-cluster', 'Hal'),
      await login(call, 'ivy-cluster', 'Ivy'),
      await login(call, 'jo-cluster', 'Jo'),
    ];
    const { roomId, pids } = await roomWithParticipants(call, users, 'sigterm room');
    // Three participants on the instance that stops, one on the other.
    const onOne = await Promise.all(users.slice(0, 3).map((u) => socketOn(one.url, u)));
    const stayer = await socketOn(two.url, users[3]!);
    for (const [i, socket] of onOne.entries()) await publishP2p(socket, roomId, pids[i]!);
    await publishP2p(stayer, roomId, pids[3]!);
    const seenByStayer = recordEvents(stayer);
    // Activity while it stops: chat through the other instance, hands raised on the stopping one.
    let active = true;
    const activity = (async () => {
      while (active) {
        await call('POST', `/chats/${roomId}`, { token: users[3]!.token, body: { data: 'while stopping' } });
        for (const socket of onOne)
          if (socket.connected) socket.emit('room.hand_raising', { isRaising: true });
        await delay(100);
      }
    })();
    await delay(300);
    one.process.child.kill('SIGTERM');
    assert.equal(await one.process.exited, 0, `exit code of ${one.process.name}; ${one.process.tail}`);
    active = false;
    await activity;
    const failures = one.process.logs.filter((l) => l.level >= 50);
    assert.deepEqual(failures, [], 'no error logged on the way out');

    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    try {
      const rows = await db.query<{ id: number; status: number; node_id: string | null }>(
        'SELECT id, status, node_id FROM participants WHERE id = ANY($1::int[]) ORDER BY id',
        [pids.map(Number)],
      );
      const byId = new Map(rows.rows.map((r) => [String(r.id), r]));
      for (const pid of pids.slice(0, 3)) {
        assert.deepEqual(
          { status: byId.get(pid)?.status, nodeId: byId.get(pid)?.node_id },
          { status: 1, nodeId: null },
          `participant ${pid} of the stopped instance is recorded as left`,
        );
      }
      assert.equal(byId.get(pids[3]!)?.status, 0, 'the participant on the other instance is still in');
    } finally {
      await db.end();
    }
    const left = seenByStayer
      .filter((e) => e.event === 'room.participant_left')
      .map((e) => (e.payload as { targetId: string }).targetId);
    assert.deepEqual(left.sort(), pids.slice(0, 3).sort(), 'the other instance heard every leave');
    const ready = await fetch(`${two.url}/readyz`);
    assert.equal(ready.status, 200);
  });
});
