import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { restClient } from '../support/clients.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * "Guest login creates accounts without limit": POST /guest/login made a user for every request and
 * POST /guest/rooms a room, as fast as the general HTTP limit (200/s per IP) allowed. Each now has
 * its own per-IP limit (GUEST_LOGIN_PER_MINUTE, GUEST_ROOMS_PER_MINUTE), answered 429 with Retry-After.
 */
describe('security: guest login and guest rooms are rate limited per IP', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ GUEST_LOGIN_PER_MINUTE: '3', GUEST_ROOMS_PER_MINUTE: '2' });
  });
  after(() => server.close());

  async function guestLogin(name: string) {
    return fetch(`${server.baseUrl}/busapi/v3/guest/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fullName: name }),
    });
  }

  it('guest login floods get 429 with Retry-After after GUEST_LOGIN_PER_MINUTE logins', async () => {
    const statuses: number[] = [];
    const replies: Response[] = [];
    for (let i = 0; i < 5; i++) replies.push(await guestLogin(`guest ${i}`));
    for (const reply of replies) statuses.push(reply.status);
    const last = replies[4] as Response;
    assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
    const retryAfter = Number(last.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(((await last.json()) as { message: string }).message, /Too many requests/);
  });

  it('guest room floods get 429 with Retry-After after GUEST_ROOMS_PER_MINUTE rooms', async () => {
    const other = await startTestServer({ GUEST_ROOMS_PER_MINUTE: '2' });
    try {
      const login = await fetch(`${other.baseUrl}/busapi/v3/guest/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fullName: 'roomer' }),
      });
      const { token } = (await login.json()) as { token: string };
      const call = restClient(other.baseUrl);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await call('POST', '/guest/rooms', { token, body: { code: `flood-${i}` } })).status);
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      const created = await Promise.all(
        [0, 1, 2, 3].map(async (i) => (await call('GET', `/rooms/flood-${i}`, { token })).status),
      );
      assert.deepEqual(created, [200, 200, 404, 404], 'a refused request creates no room');
    } finally {
      await other.close();
    }
  });
});
