import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { API_KEY, startTestServer, type TestServer } from '../support/server.ts';
import { get, pollingHandshake, rawRequest, websocketUpgrade } from './probe.ts';

/**
 * Finding 9, HTTP hygiene: socket.io echoed a foreign Origin with credentials, REST echoed any
 * origin, and no security headers (nosniff, frame protection, CSP) were sent.
 */

const FOREIGN = 'https://evil.example';
const LISTED = 'https://app.example';
const raw: net.Socket[] = [];

/** Closes the WebSockets left open, then the server (which would otherwise wait for them). */
async function stop(s: TestServer): Promise<void> {
  for (const r of raw.splice(0)) r.destroy();
  await s.close();
}

/** A JSON REST route (API key, no token) with the given extra headers. */
function rest(baseUrl: string, headers: Record<string, string> = {}) {
  return get(baseUrl, '/busapi/v3/health-check', { 'x-api-key': API_KEY, ...headers });
}

/** 101 when upgraded; a refusal as `<status> <reason>` (engine.io refuses upgrades with 400). */
async function upgradeStatus(baseUrl: string, headers: Record<string, string>): Promise<number | string> {
  const result = await websocketUpgrade(baseUrl, headers);
  if (result.socket) raw.push(result.socket);
  return result.status === 101 ? 101 : `${result.status} ${result.body}`;
}

const REFUSED_UPGRADE = '400 origin not allowed';

describe('http hygiene (finding 9): one CORS policy, same-origin by default', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => stop(s));

  it('REST refuses a foreign Origin and does not echo it', async () => {
    const res = await rest(s.baseUrl, { origin: FOREIGN });
    assert.equal(res.status, 403);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    const preflight = await rawRequest(s.baseUrl, 'OPTIONS', '/busapi/v3/auth', {
      origin: FOREIGN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'x-api-key',
    });
    assert.notEqual(preflight.headers['access-control-allow-origin'], FOREIGN);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  it('socket.io long-polling refuses a foreign Origin and does not echo it with credentials', async () => {
    const res = await pollingHandshake(s.baseUrl, { origin: FOREIGN });
    assert.equal(res.status, 403);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  it('socket.io refuses the WebSocket upgrade from a foreign Origin', async () => {
    assert.equal(await upgradeStatus(s.baseUrl, { origin: FOREIGN }), REFUSED_UPGRADE);
  });

  it('no Origin (native Waterbus clients) and the same origin are allowed on REST and socket.io', async () => {
    const self = { origin: s.baseUrl };
    assert.equal((await rest(s.baseUrl)).status, 200);
    assert.equal((await rest(s.baseUrl, self)).status, 200);
    assert.equal((await pollingHandshake(s.baseUrl)).status, 200);
    assert.equal((await pollingHandshake(s.baseUrl, self)).status, 200);
    assert.equal(await upgradeStatus(s.baseUrl, {}), 101);
    assert.equal(await upgradeStatus(s.baseUrl, self), 101);
  });
});

describe('http hygiene (finding 9): CORS_ORIGINS lists the allowed foreign origins', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ CORS_ORIGINS: `${LISTED}, https://other.example` });
  });
  after(() => stop(s));

  it('a listed origin is allowed and echoed on REST, socket.io polling and WebSocket', async () => {
    const reply = await rest(s.baseUrl, { origin: LISTED });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], LISTED);
    const polling = await pollingHandshake(s.baseUrl, { origin: LISTED });
    assert.equal(polling.status, 200);
    assert.equal(polling.headers['access-control-allow-origin'], LISTED);
    assert.equal(await upgradeStatus(s.baseUrl, { origin: LISTED }), 101);
  });

  it('an unlisted origin is still refused', async () => {
    assert.equal((await rest(s.baseUrl, { origin: FOREIGN })).status, 403);
    assert.equal((await pollingHandshake(s.baseUrl, { origin: FOREIGN })).status, 403);
    assert.equal(await upgradeStatus(s.baseUrl, { origin: FOREIGN }), REFUSED_UPGRADE);
  });
});

describe('http hygiene (finding 9): CORS_ORIGINS=* is an explicit opt-in', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ CORS_ORIGINS: '*' });
  });
  after(() => stop(s));

  it('any origin is allowed, and socket.io never pairs it with credentials', async () => {
    const reply = await rest(s.baseUrl, { origin: FOREIGN });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], '*');
    const polling = await pollingHandshake(s.baseUrl, { origin: FOREIGN });
    assert.equal(polling.status, 200);
    assert.equal(polling.headers['access-control-allow-origin'], '*');
    assert.equal(polling.headers['access-control-allow-credentials'], undefined);
  });
});

describe('http hygiene (finding 9): security headers', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => stop(s));

  for (const path of ['/', '/docs', '/sdk/bbmeet.js', '/busapi/v3/health-check', '/healthz']) {
    it(`${path} has nosniff, frame protection and a CSP`, async () => {
      const res = await get(s.baseUrl, path, { 'x-api-key': API_KEY });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /frame-ancestors 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'no inline or eval scripts');
      assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'the server may be reached over plain HTTP');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
    });
  }

  it('error responses carry the headers too', async () => {
    const res = await get(s.baseUrl, '/no-such-page');
    assert.equal(res.status, 404);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });
});
