import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SqliteDb } from '../../src/store/sqlite-db.ts';
import { nowTimestamp } from '../../src/store/timestamps.ts';
import { connectSocket, login, type RestCall, type TestUser } from '../support/clients.ts';
import { JWT_SECRET } from '../support/server.ts';
import { useServerWithClients } from '../support/server-clients.ts';

/**
 * Finding 8, "tokens outlive their user and the logout": a deleted user's access token, and any
 * token after DELETE /auth, must be refused by every authenticated REST route, by the refresh
 * route and by the socket handshake; a live socket of the user is disconnected on logout.
 */

interface Owned {
  user: TestUser;
  roomId: number;
  messageId: number;
}

/** A user hosting a room with one message of theirs: what the probe reused the token on. */
async function userWithRoomAndMessage(call: RestCall, externalId: string): Promise<Owned> {
  const user = await login(call, externalId);
  const room = await call<{ id: number }>('POST', '/rooms', { token: user.token, body: { title: 'Mine' } });
  assert.equal(room.status, 201);
  const sent = await call<{ id: number }>('POST', `/chats/${room.body.id}`, {
    token: user.token,
    body: { data: 'hello' },
  });
  assert.equal(sent.status, 201);
  return { user, roomId: room.body.id, messageId: sent.body.id };
}

/** The status of each route the probe reported, called with `token`. */
async function probeStatuses(call: RestCall, owned: Owned, token: string) {
  return {
    'GET /rooms': (await call('GET', '/rooms', { token })).status,
    'GET /chats/:id': (await call('GET', `/chats/${owned.roomId}`, { token })).status,
    'PUT /chats/:msg': (await call('PUT', `/chats/${owned.messageId}`, { token, body: { data: 'edited' } }))
      .status,
    'PUT /rooms/:id': (await call('PUT', `/rooms/${owned.roomId}`, { token, body: { title: 'Renamed' } }))
      .status,
  };
}

const ALL_401 = { 'GET /rooms': 401, 'GET /chats/:id': 401, 'PUT /chats/:msg': 401, 'PUT /rooms/:id': 401 };
const ALL_200 = { 'GET /rooms': 200, 'GET /chats/:id': 200, 'PUT /chats/:msg': 200, 'PUT /rooms/:id': 200 };

/** An access token as issued before token versions existed: claims `{ id, exp }` only. */
function legacyToken(userId: number): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ id: String(userId), exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

describe('finding 8: tokens outlive their user and the logout', () => {
  const live = useServerWithClients();

  it('a deleted user: the old access token gets 401 on every route and at the socket handshake', async () => {
    const owned = await userWithRoomAndMessage(live.call, 'revocation-deleted');
    assert.deepEqual(await probeStatuses(live.call, owned, owned.user.token), ALL_200);
    // Deleting a user is a soft delete (users.deleted_at), done by the operator in the database.
    const db = new SqliteDb(path.join(live.server.dataDir, 'bbmeet.sqlite'));
    try {
      await db.run('UPDATE users SET deleted_at = $2 WHERE id = $1', [owned.user.id, nowTimestamp()]);
    } finally {
      await db.close();
    }
    assert.deepEqual(await probeStatuses(live.call, owned, owned.user.token), ALL_401);
    assert.equal((await live.call('GET', '/users', { token: owned.user.token })).status, 401);
    assert.equal((await live.call('GET', '/auth', { token: owned.user.refreshToken })).status, 401);
    await assert.rejects(connectSocket(live.server.baseUrl, owned.user.token), /Invalid token/);
  });

  it('DELETE /auth revokes the access and refresh tokens, on every route and at the socket handshake', async () => {
    const owned = await userWithRoomAndMessage(live.call, 'revocation-logout');
    assert.deepEqual(await probeStatuses(live.call, owned, owned.user.token), ALL_200);
    assert.equal((await live.call('DELETE', '/auth', { token: owned.user.token })).status, 204);
    assert.deepEqual(await probeStatuses(live.call, owned, owned.user.token), ALL_401);
    assert.equal((await live.call('DELETE', '/auth', { token: owned.user.token })).status, 401);
    assert.equal((await live.call('GET', '/auth', { token: owned.user.refreshToken })).status, 401);
    await assert.rejects(connectSocket(live.server.baseUrl, owned.user.token), /Invalid token/);
  });

  it('after DELETE /auth a new login works, and tokens of other users are untouched', async () => {
    const owned = await userWithRoomAndMessage(live.call, 'revocation-relogin');
    const other = await userWithRoomAndMessage(live.call, 'revocation-bystander');
    assert.equal((await live.call('DELETE', '/auth', { token: owned.user.token })).status, 204);
    const again = await login(live.call, 'revocation-relogin');
    assert.equal(again.id, owned.user.id);
    assert.deepEqual(await probeStatuses(live.call, owned, again.token), ALL_200);
    const refreshed = await live.call<{ token: string }>('GET', '/auth', { token: again.refreshToken });
    assert.equal(refreshed.status, 200);
    assert.equal((await live.call('GET', '/rooms', { token: refreshed.body.token })).status, 200);
    assert.deepEqual(await probeStatuses(live.call, other, other.user.token), ALL_200);
  });

  it('a token minted before token versions (no tv claim) works until the first logout', async () => {
    const owned = await userWithRoomAndMessage(live.call, 'revocation-legacy');
    const legacy = legacyToken(owned.user.id);
    assert.deepEqual(await probeStatuses(live.call, owned, legacy), ALL_200);
    const socket = await live.connect(legacy);
    assert.equal(socket.connected, true);
    assert.equal((await live.call('DELETE', '/auth', { token: owned.user.token })).status, 204);
    assert.deepEqual(await probeStatuses(live.call, owned, legacy), ALL_401);
  });

  it('DELETE /auth disconnects the live sockets of that user, not those of others', async () => {
    const owned = await userWithRoomAndMessage(live.call, 'revocation-live');
    const other = await userWithRoomAndMessage(live.call, 'revocation-live-other');
    const mine = await live.connect(owned.user.token);
    const theirs = await live.connect(other.user.token);
    const reason = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the socket was not disconnected within 5 s')), 5000);
      mine.once('disconnect', (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    assert.equal((await live.call('DELETE', '/auth', { token: owned.user.token })).status, 204);
    assert.equal(await reason, 'io server disconnect');
    // The other user's socket still answers: a round trip after the disconnect was sent.
    const ack = await theirs.timeout(5000).emitWithAck('room.leave', { roomId: '1', participantId: '1' });
    assert.ok(ack, 'the other socket still gets acks');
    assert.equal(theirs.connected, true);
  });
});
