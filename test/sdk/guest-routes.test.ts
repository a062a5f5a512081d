import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { restClient } from '../support/clients.ts';
import { API_KEY, startTestServer, type TestServer } from '../support/server.ts';

/** The guest routes the demo page uses, and the GUEST_LOGIN_ENABLED switch. */

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/busapi/v3${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('guest routes (GUEST_LOGIN_ENABLED, on by default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('guest login: a new user per call, its tokens and the API key, without any key', async () => {
    const a = await post(server.baseUrl, '/guest/login', { fullName: '  Ada ' });
    const b = await post(server.baseUrl, '/guest/login', { fullName: 'Ada' });
    assert.equal(a.status, 201);
    assert.equal(a.body.apiKey, API_KEY);
    assert.equal((a.body.user as { fullName: string }).fullName, 'Ada');
    assert.notEqual((a.body.user as { id: number }).id, (b.body.user as { id: number }).id);
    const me = await restClient(server.baseUrl)('GET', '/users', { token: String(a.body.token) });
    assert.equal(me.status, 200);
    assert.equal((await post(server.baseUrl, '/guest/login', { fullName: '' })).status, 400);
  });

  it('guest rooms: found by code or created with it; codes are checked; needs key and token', async () => {
    const guest = await post(server.baseUrl, '/guest/login', { fullName: 'Bo' });
    const auth = { 'x-api-key': API_KEY, authorization: `Bearer ${String(guest.body.token)}` };
    const created = await post(server.baseUrl, '/guest/rooms', { code: 'team-sync' }, auth);
    const again = await post(server.baseUrl, '/guest/rooms', { code: 'team-sync' }, auth);
    assert.equal(created.status, 200);
    assert.equal(created.body.code, 'team-sync');
    assert.equal(again.body.id, created.body.id);
    const byCode = await restClient(server.baseUrl)('GET', '/rooms/team-sync', {
      token: String(guest.body.token),
    });
    assert.equal(byCode.body.id, created.body.id);
    assert.equal((await post(server.baseUrl, '/guest/rooms', { code: 'Bad Code' }, auth)).status, 400);
    assert.equal(
      (await post(server.baseUrl, '/guest/rooms', { code: 'x' }, { 'x-api-key': API_KEY })).status,
      401,
    );
  });
});

describe('guest routes with GUEST_LOGIN_ENABLED=false', () => {
  it('are not served; the demo page still is', async () => {
    const server = await startTestServer({ GUEST_LOGIN_ENABLED: 'false' });
    try {
      const res = await fetch(`${server.baseUrl}/busapi/v3/guest/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fullName: 'Cy' }),
      });
      assert.equal(res.status, 404);
      assert.equal((await fetch(`${server.baseUrl}/`)).status, 200);
    } finally {
      await server.close();
    }
  });
});
