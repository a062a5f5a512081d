import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { openStore } from '../../src/store/index.ts';
import { ParticipantStatus } from '../../src/store/types.ts';
import { RoleProcess } from '../cluster/cluster.ts';
import {
  connectSocket,
  delay,
  login,
  recordEvents,
  restClient,
  roomWithParticipants,
} from '../support/clients.ts';
import { API_KEY, freeUdpPort, JWT_SECRET, REFRESH_SECRET } from '../support/server.ts';

/**
 * `bbmeet start` stopped by SIGTERM in the middle of a call, with chat being posted: it exits 0,
 * logs no error, every participant that was connected is recorded as left in its database, and
 * every chat message it acknowledged is stored.
 */

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

describe('bbmeet start: shutdown on SIGTERM', { timeout: 60_000 }, () => {
  let dataDir: string;
  let server: RoleProcess | undefined;
  const sockets: Socket[] = [];

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-shutdown-'));
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await server?.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM during a call: exit 0, no error logged, every connected participant left, every acknowledged chat message stored', async () => {
    const port = await freeTcpPort();
    const udpPort = await freeUdpPort();
    server = new RoleProcess('bbmeet-start', 'start', {
      CLIENT_SECRET_KEY: API_KEY,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_REFRESH_SECRET: REFRESH_SECRET,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      APP_HOST: '127.0.0.1',
      APP_PORT: String(port),
      MEDIA_WORKERS: '1',
      PORT_MIN_UDP: String(udpPort),
      PORT_MAX_UDP: String(udpPort),
    });
    await server.waitForLog((l) => l.msg.startsWith('bbmeet ready'));
    const url = `http://127.0.0.1:${port}`;
    const call = restClient(url);
    const users = [
      await login(call, 'sigterm-a', 'A'),
      await login(call, 'sigterm-b', 'B'),
      await login(call, 'sigterm-c', 'C'),
    ];
    const { roomId, pids } = await roomWithParticipants(call, users, 'shutdown room');
    for (const [i, user] of users.entries()) {
      const socket = await connectSocket(url, user.token);
      sockets.push(socket);
      recordEvents(socket);
      await socket.emitWithAck('room.publish', {
        sdp: OFFER,
        roomId,
        participantId: pids[i],
        isVideoEnabled: true,
        isAudioEnabled: true,
        isE2eeEnabled: false,
        totalTracks: 2,
        connectionType: 0,
      });
    }
    let acknowledged = 0;
    let active = true;
    const chat = (async () => {
      while (active) {
        const res = await call('POST', `/chats/${roomId}`, {
          token: users[0]!.token,
          body: { data: 'while stopping' },
        }).catch(() => ({ status: 0 }));
        if (res.status === 201) acknowledged++;
        for (const socket of sockets)
          if (socket.connected) socket.emit('room.hand_raising', { isRaising: true });
        await delay(50);
      }
    })();
    await delay(300);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, `exit code; ${server.tail}`);
    active = false;
    await chat;
    assert.deepEqual(
      server.logs.filter((l) => l.level >= 50),
      [],
      'no error logged on the way out',
    );
    assert.deepEqual(server.faults(), []);

    const store = await openStore({ sqlitePath: path.join(dataDir, 'bbmeet.sqlite') });
    try {
      for (const pid of pids) {
        const row = await store.participants.findById(Number(pid));
        assert.deepEqual(
          { status: row?.status, nodeId: row?.nodeId },
          { status: ParticipantStatus.Inactive, nodeId: null },
          `participant ${pid} is recorded as left`,
        );
      }
      const stored = await store.messages.listByRoom(Number(roomId), { skip: 0, limit: 100_000 });
      assert.ok(acknowledged > 0, 'chat was posted before the signal');
      assert.equal(
        stored.filter((m) => m.data === 'while stopping').length,
        acknowledged,
        'every acknowledged message is stored',
      );
    } finally {
      await store.close();
    }
  });
});
