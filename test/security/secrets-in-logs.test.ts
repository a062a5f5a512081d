import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { connectSocket, nextEvent } from '../support/clients.ts';
import { type SpawnedServer, spawnServer } from '../support/spawned-server.ts';

const IDENTITY_SECRET = 'secrets-in-logs-identity-secret-0123456789';
const REFRESH_SECRET = 'spawned-test-refresh-secret-0123456789';
const ROOM_PASSWORD = 'room-password-7f3a9c';
const WRONG_PASSWORD = 'wrong-password-1b2c3d';
const TURN_SECRET = 'secrets-in-logs-turn-secret-5e6f7a8b';

/**
 * No secret reaches the logs: the server runs at LOG_LEVEL=trace through Waterbus login, guest
 * login, join-token minting, TURN credentials, joins over REST and the socket, chat, wrong passwords and failed
 * authentications; then its whole output is searched for every secret and token it handled.
 */
describe('security: secrets never appear in logs', () => {
  let server: SpawnedServer;
  const secrets = new Map<string, string>();
  const sockets: Socket[] = [];

  before(async () => {
    server = await spawnServer({
      LOG_LEVEL: 'trace',
      AUTH_IDENTITY_SECRET: IDENTITY_SECRET,
      AUTH_REFRESH_SECRET: REFRESH_SECRET,
      TURN_URLS: 'turn:127.0.0.1:3478?transport=udp',
      TURN_SECRET,
    });
    secrets.set('API key', server.apiKey);
    secrets.set('JWT secret', server.jwtSecret);
    secrets.set('refresh secret', REFRESH_SECRET);
    secrets.set('identity secret', IDENTITY_SECRET);
    secrets.set('room password', ROOM_PASSWORD);
    secrets.set('wrong room password', WRONG_PASSWORD);
    secrets.set('TURN secret', TURN_SECRET);
  });
  after(async () => {
    for (const s of sockets) s.close();
    if (server) await server.close();
  });

  async function call(
    method: string,
    path: string,
    o: { token?: string; body?: unknown; apiKey?: string } = {},
  ) {
    const headers: Record<string, string> = { 'x-api-key': o.apiKey ?? server.apiKey };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.baseUrl}/busapi/v3${path}`, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: replies are read field by field.
    return { status: res.status, body: (await res.json().catch(() => ({}))) as any };
  }

  async function runScenario() {
    const login = await call('POST', '/auth', { body: { fullName: 'Alice', externalId: 'logs-alice' } });
    assert.equal(login.status, 201);
    const alice = login.body.token as string;
    secrets.set('access token', alice);
    secrets.set('refresh token', login.body.refreshToken);
    const guest = await fetch(`${server.baseUrl}/busapi/v3/guest/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fullName: 'Guest' }),
    });
    const guestBody = (await guest.json()) as { token: string; refreshToken: string };
    secrets.set('guest token', guestBody.token);
    secrets.set('guest refresh token', guestBody.refreshToken);
    const room = (
      await call('POST', '/rooms', { token: alice, body: { title: 'Logs', password: ROOM_PASSWORD } })
    ).body;
    const mint = await fetch(`${server.baseUrl}/busapi/v3/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${IDENTITY_SECRET}` },
      body: JSON.stringify({ room: room.code, identity: 'logs-bob', name: 'Bob' }),
    });
    const joinToken = ((await mint.json()) as { token: string }).token;
    secrets.set('join token', joinToken);
    const ice = await call('GET', '/auth/ice-servers', { token: alice });
    assert.equal(ice.status, 200);
    secrets.set('TURN credential', ice.body.iceServers[0].credential);
    const joined = await call('POST', `/rooms/${room.id}/join`, { token: joinToken, body: {} });
    assert.equal(joined.status, 201);
    const pid = joined.body.participants.at(-1).id;
    const socket = await connectSocket(server.baseUrl, joinToken);
    sockets.push(socket);
    const published = await socket.emitWithAck('room.publish', {
      sdp: 'v=0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n',
      roomId: String(room.id),
      participantId: String(pid),
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 1,
      connectionType: 0,
    });
    assert.equal(published.error, undefined);
    const chatSeen = nextEvent(socket, 'chat.send');
    assert.equal(
      (await call('POST', `/chats/${room.id}`, { token: joinToken, body: { data: 'hello' } })).status,
      201,
    );
    await chatSeen;
    // Failures: a wrong room password, a wrong API key, a forged bearer, a wrong server secret.
    await call('GET', `/rooms/${room.code}`, { token: guestBody.token });
    const wrong = await call('POST', `/rooms/${room.id}/join`, {
      token: guestBody.token,
      body: { password: WRONG_PASSWORD },
    });
    assert.equal(wrong.status, 401);
    assert.equal((await call('GET', '/users', { token: alice, apiKey: 'not-the-key' })).status, 401);
    assert.equal((await call('GET', '/users', { token: `${alice}x` })).status, 401);
    await assert.rejects(connectSocket(server.baseUrl, `${joinToken}x`));
    const badMint = await fetch(`${server.baseUrl}/busapi/v3/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${IDENTITY_SECRET}x` },
      body: JSON.stringify({ room: room.code, identity: 'logs-eve' }),
    });
    assert.equal(badMint.status, 401);
  }

  it('no API key, JWT secret, identity secret, TURN secret or credential, token or room password in the trace-level output', async () => {
    await runScenario();
    for (const s of sockets) s.close();
    await server.close();
    const output = server.stdout() + server.stderr();
    assert.ok(
      output.includes('"level":10') || output.includes('"level":20'),
      'the log ran at debug or trace',
    );
    assert.match(output, /wrong room password/, 'the failures were logged');
    for (const [name, value] of secrets) {
      assert.ok(!output.includes(value), `the ${name} appears in the logs`);
      // A token's signature alone is enough to recognise (and its payload is not secret).
      const signature = value.split('.')[2];
      if (signature) assert.ok(!output.includes(signature), `the ${name}'s signature appears in the logs`);
    }
  });
});
