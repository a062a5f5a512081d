import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSocket, login, nextEvent, restClient } from '../support/clients.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('the server on PostgreSQL (DATABASE_URL)', () => {
  let postgres: TestPostgres;
  let server: TestServer;
  before(async () => {
    postgres = await startPostgres();
    server = await startTestServer({ DATABASE_URL: await postgres.createDatabase('server') });
  });
  after(async () => {
    await server?.close();
    await postgres?.stop();
  });

  it('serves the client flow: token, room, join, socket publish, chat', async () => {
    const call = restClient(server.baseUrl);
    const alice = await login(call, 'pg-alice', 'Alice');
    const bob = await login(call, 'pg-bob', 'Bob');
    const room = await call<{ id: number; code: string }>('POST', '/rooms', {
      token: alice.token,
      body: { title: 'PG', password: 'pw' },
    });
    assert.equal(room.status, 201);
    await call('GET', `/rooms/${room.body.code}`, { token: bob.token });
    const wrong = await call('POST', `/rooms/${room.body.id}/join`, {
      token: bob.token,
      body: { password: 'nope' },
    });
    assert.equal(wrong.status, 401);
    const joined = await call<{ participants: Array<{ id: number; userId: number }> }>(
      'POST',
      `/rooms/${room.body.id}/join`,
      {
        token: bob.token,
        body: { password: 'pw' },
      },
    );
    assert.equal(joined.status, 201);
    const bobPid = joined.body.participants.find((p) => p.userId === bob.id)!.id;

    const socket = await connectSocket(server.baseUrl, bob.token);
    try {
      const ack = await socket.timeout(3000).emitWithAck('room.publish', {
        sdp: 'v=0\r\n',
        roomId: String(room.body.id),
        participantId: String(bobPid),
        isVideoEnabled: true,
        isAudioEnabled: true,
        isE2eeEnabled: false,
        totalTracks: 2,
        connectionType: 0,
      });
      assert.deepEqual(ack, {});
      const chat = nextEvent<{ data: string; createdAt: string }>(socket, 'chat.send');
      const sent = await call('POST', `/chats/${room.body.id}`, {
        token: bob.token,
        body: { data: 'over postgres' },
      });
      assert.equal(sent.status, 201);
      const got = await chat;
      assert.equal(got.data, 'over postgres');
      assert.match(got.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
      const byCode = await call<{ participants: Array<{ id: number }> }>('GET', `/rooms/${room.body.code}`, {
        token: alice.token,
      });
      assert.deepEqual(
        byCode.body.participants.map((p) => p.id),
        [bobPid],
      );
    } finally {
      socket.close();
    }
  });
});
