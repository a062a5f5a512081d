import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { connectSocket, delay, login, restClient } from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  get,
  pollingHandshake,
  serverClosedWebSocket,
  unfinishedRequest,
  websocketUpgrade,
} from './probe.ts';

/**
 * Finding 6, connection limits with gaps: unauthenticated sockets were neither capped nor timed
 * out quickly, HTTP requests had no timeout, the only socket cap was per IP (one user locked out a
 * NAT), and socket.io ignored TRUST_PROXY.
 */

const servers: TestServer[] = [];
const sockets: Socket[] = [];
const raw: net.Socket[] = [];

async function server(env: Record<string, string>): Promise<TestServer> {
  const s = await startTestServer(env);
  servers.push(s);
  return s;
}

/** 101 when upgraded; a refusal as `<status> <reason>` (engine.io refuses upgrades with 400). */
async function upgrade(baseUrl: string, headers: Record<string, string> = {}): Promise<number | string> {
  const result = await websocketUpgrade(baseUrl, headers);
  if (result.socket) raw.push(result.socket);
  return result.status === 101 ? 101 : `${result.status} ${result.body}`;
}

const REFUSED = '400 too many connections';

async function connect(baseUrl: string, token: string, headers?: Record<string, string>): Promise<Socket> {
  const socket = await connectSocket(baseUrl, token, headers ? { extraHeaders: headers } : {});
  sockets.push(socket);
  return socket;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error, 'the connection should have been refused');
  return err.message;
}

after(async () => {
  for (const s of sockets) s.close();
  for (const r of raw) r.destroy();
  for (const s of servers) await s.close();
});

describe('connection limits (finding 6): unauthenticated sockets', () => {
  it('unauthenticated sockets over SOCKET_UNAUTHENTICATED_PER_IP are refused, over WebSocket and polling', async () => {
    const s = await server({ SOCKET_UNAUTHENTICATED_PER_IP: '3', SOCKET_CONNECT_TIMEOUT_SECONDS: '30' });
    for (let i = 0; i < 3; i++) assert.equal(await upgrade(s.baseUrl), 101, `socket ${i + 1} of 3`);
    assert.equal(await upgrade(s.baseUrl), REFUSED, 'a 4th WebSocket that never authenticates');
    assert.equal((await pollingHandshake(s.baseUrl)).status, 403, 'a 4th one over long-polling');
    const metrics = await get(s.baseUrl, '/metrics');
    assert.match(
      metrics.body,
      /bbmeet_socket_connections_refused_total\{reason="unauthenticated_per_ip"\} 2/,
    );
  });

  it('a closed unauthenticated socket frees its place', async () => {
    const s = await server({ SOCKET_UNAUTHENTICATED_PER_IP: '1', SOCKET_CONNECT_TIMEOUT_SECONDS: '30' });
    const first = await websocketUpgrade(s.baseUrl);
    assert.equal(first.status, 101);
    assert.equal(await upgrade(s.baseUrl), REFUSED);
    first.socket!.destroy();
    // The server learns of the close asynchronously: retry for a bounded while.
    let status: number | string = 0;
    for (let i = 0; i < 50 && status !== 101; i++) {
      status = await upgrade(s.baseUrl);
      if (status !== 101) await delay(100);
    }
    assert.equal(status, 101);
  });

  it('authenticated sockets do not count against the unauthenticated cap', async () => {
    const s = await server({ SOCKET_UNAUTHENTICATED_PER_IP: '2' });
    const call = restClient(s.baseUrl);
    for (let i = 0; i < 3; i++) await connect(s.baseUrl, (await login(call, `auth-${i}`)).token);
    assert.equal(await upgrade(s.baseUrl), 101);
  });

  it('an unauthenticated socket is closed after SOCKET_CONNECT_TIMEOUT_SECONDS', async () => {
    const s = await server({ SOCKET_CONNECT_TIMEOUT_SECONDS: '1' });
    const idle = await websocketUpgrade(s.baseUrl);
    assert.equal(idle.status, 101);
    raw.push(idle.socket!);
    // Default before the fix: 45 s. Generous bound for a loaded machine.
    await serverClosedWebSocket(idle.socket!, 15_000);
  });
});

describe('connection limits (finding 6): authenticated sockets per user and per IP', () => {
  it('one user at SOCKET_CONNECTIONS_PER_USER does not block another user on the same IP', async () => {
    const s = await server({ SOCKET_CONNECTIONS_PER_USER: '2', SOCKET_CONNECTIONS_PER_IP: '3' });
    const call = restClient(s.baseUrl);
    const [a, b, c] = [await login(call, 'nat-a'), await login(call, 'nat-b'), await login(call, 'nat-c')];
    await connect(s.baseUrl, a.token);
    await connect(s.baseUrl, a.token);
    assert.match(await refusal(connect(s.baseUrl, a.token)), /Too many connections/);
    await connect(s.baseUrl, b.token);
    assert.match(await refusal(connect(s.baseUrl, c.token)), /Too many connections/, 'the IP cap (3)');
  });
});

describe('connection limits (finding 6): HTTP timeouts', () => {
  const env = {
    HTTP_REQUEST_TIMEOUT_SECONDS: '1',
    HTTP_HEADERS_TIMEOUT_SECONDS: '1',
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '7',
  };

  it('a request body that never finishes is cut by HTTP_REQUEST_TIMEOUT_SECONDS (408)', async () => {
    const s = await server(env);
    const request =
      'POST /busapi/v3/auth HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
      'Content-Length: 100\r\n\r\n{"fullName":';
    const { answer } = await unfinishedRequest(s.baseUrl, request, 15_000);
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  it('headers that never finish are cut by HTTP_HEADERS_TIMEOUT_SECONDS', async () => {
    const s = await server(env);
    const { answer } = await unfinishedRequest(s.baseUrl, 'GET /healthz HTTP/1.1\r\nHost: lo', 15_000);
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  it('idle keep-alive connections are closed after HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', async () => {
    const s = await server(env);
    const res = await get(s.baseUrl, '/healthz', { connection: 'keep-alive' });
    assert.equal(res.headers['keep-alive'], 'timeout=7');
  });

  it('the request timeout cuts neither a WebSocket nor a long-polling socket.io connection', async () => {
    const s = await server(env);
    const call = restClient(s.baseUrl);
    const user = await login(call, 'long-lived');
    const ws = await connect(s.baseUrl, user.token);
    const polling = await connectSocket(s.baseUrl, user.token, { transports: ['polling'] });
    sockets.push(polling);
    const drops: string[] = [];
    ws.on('disconnect', (reason) => drops.push(`websocket: ${reason}`));
    polling.on('disconnect', (reason) => drops.push(`polling: ${reason}`));
    // Three request timeouts, and a long-poll held open across a server ping (5 s interval).
    await delay(6000);
    assert.deepEqual(drops, []);
    assert.ok(ws.connected && polling.connected);
  });
});

describe('connection limits (finding 6): TRUST_PROXY in both REST and socket.io', () => {
  it('with TRUST_PROXY=true the per-IP limits follow X-Forwarded-For on REST and socket.io', async () => {
    const s = await server({
      TRUST_PROXY: 'true',
      SOCKET_UNAUTHENTICATED_PER_IP: '1',
      SOCKET_CONNECTIONS_PER_IP: '1',
      SOCKET_CONNECT_TIMEOUT_SECONDS: '30',
    });
    const one = { 'x-forwarded-for': '203.0.113.1' };
    const two = { 'x-forwarded-for': '203.0.113.2, 10.0.0.1' };
    assert.equal(await upgrade(s.baseUrl, one), 101);
    assert.equal(await upgrade(s.baseUrl, one), REFUSED, 'second unauthenticated socket of 203.0.113.1');
    assert.equal(await upgrade(s.baseUrl, two), 101, 'another client behind the same proxy');

    const call = restClient(s.baseUrl);
    const [a, b, c] = [await login(call, 'xff-a'), await login(call, 'xff-b'), await login(call, 'xff-c')];
    const three = { 'x-forwarded-for': '203.0.113.3' };
    await connect(s.baseUrl, a.token, three);
    assert.match(await refusal(connect(s.baseUrl, b.token, three)), /Too many connections/);
    await connect(s.baseUrl, c.token, { 'x-forwarded-for': '203.0.113.4' });
  });

  it('with TRUST_PROXY=true the REST rate limit follows X-Forwarded-For', async () => {
    const s = await server({ TRUST_PROXY: 'true', HTTP_RATE_LIMIT_PER_SECOND: '1' });
    assert.equal((await get(s.baseUrl, '/healthz', { 'x-forwarded-for': '198.51.100.1' })).status, 200);
    assert.equal((await get(s.baseUrl, '/healthz', { 'x-forwarded-for': '198.51.100.1' })).status, 429);
    assert.equal((await get(s.baseUrl, '/healthz', { 'x-forwarded-for': '198.51.100.2' })).status, 200);
  });

  it('with TRUST_PROXY=false X-Forwarded-For is ignored: the peer address counts', async () => {
    const s = await server({ SOCKET_UNAUTHENTICATED_PER_IP: '1', SOCKET_CONNECT_TIMEOUT_SECONDS: '30' });
    assert.equal(await upgrade(s.baseUrl, { 'x-forwarded-for': '203.0.113.1' }), 101);
    assert.equal(await upgrade(s.baseUrl, { 'x-forwarded-for': '203.0.113.2' }), REFUSED);
  });
});
