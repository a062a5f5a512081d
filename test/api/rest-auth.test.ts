import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Fixture, startFixture } from './fixture.ts';
import { forgeToken, REFRESH_SECRET } from './harness.ts';

/** Refused authentication: `{message}` with 401 (or a clear 404), and nothing changed. */
describe('REST: rejected credentials change nothing', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.api.close());

  it('401 Invalid API Key without or with a wrong X-API-Key, on every kind of route', async () => {
    for (const apiKey of [null, 'wrong', '']) {
      await f.rejected('GET', '/health-check', { apiKey }, 401, 'Invalid API Key');
      await f.rejected(
        'POST',
        '/auth',
        { apiKey, body: { fullName: 'M', externalId: 'ext-m' } },
        401,
        'Invalid API Key',
      );
      await f.rejected(
        'POST',
        '/rooms',
        { apiKey, token: f.alice.token, body: { title: 'x' } },
        401,
        'Invalid API Key',
      );
      await f.rejected(
        'POST',
        `/chats/${f.open.id}`,
        { apiKey, token: f.bob.token, body: { data: 'x' } },
        401,
        'Invalid API Key',
      );
    }
    assert.equal(await f.api.store.users.findByExternalId('ext-m'), undefined);
  });

  it('401 Invalid token for missing, expired, forged, malformed and swapped tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      undefined,
      '',
      'not.a.jwt',
      forgeToken({ id: String(f.alice.id), exp: now - 3600 }), // expired beyond the leeway
      forgeToken({ id: String(f.alice.id), exp: now + 600 }, 'some-other-secret'), // forged
      forgeToken({ id: 'abc', exp: now + 600 }), // non-numeric id (a 500 in Waterbus)
      f.alice.refreshToken, // refresh token used as access token
    ];
    for (const token of bad) {
      await f.rejected('POST', '/rooms', { token, body: { title: 'x' } }, 401, 'Invalid token');
      await f.rejected(
        'POST',
        `/rooms/${f.locked.id}/join`,
        { token, body: { password: 'pw' } },
        401,
        'Invalid token',
      );
      await f.rejected('DELETE', `/chats/${f.aliceMessage.id}`, { token }, 401, 'Invalid token');
    }
    await f.rejected('GET', '/auth', { token: f.alice.token }, 401, 'Invalid token'); // access token as refresh
    await f.rejected('GET', '/auth', {}, 401, 'Invalid token');
  });

  it('401 (never 500) on every route for a valid token of a user that does not exist', async () => {
    // A token must not outlive its user (finding 8): the user is checked on every request.
    const exp = Math.floor(Date.now() / 1000) + 600;
    const ghost = forgeToken({ id: '999999', exp });
    const calls: Array<[string, string, Record<string, unknown>]> = [
      ['GET', '/users', {}],
      ['PUT', '/users', { body: { fullName: 'G' } }],
      ['POST', '/rooms', { body: { title: 'x' } }],
      ['POST', `/rooms/${f.open.id}/join`, { body: {} }],
      ['POST', `/chats/${f.open.id}`, { body: { data: 'x' } }],
    ];
    for (const [method, path, options] of calls) {
      await f.rejected(method, path, { token: ghost, ...options }, 401, 'Invalid token');
    }
    const ghostRefresh = forgeToken({ id: '999999', exp }, REFRESH_SECRET);
    await f.rejected('GET', '/auth', { token: ghostRefresh }, 401, 'Invalid token');
  });

  it('401 for a wrong or missing room password (non-members who opened the room by its code)', async () => {
    await f.api.call('GET', `/rooms/${f.locked.code}`, { token: f.carol.token });
    const join = `/rooms/${f.locked.id}/join`;
    await f.rejected(
      'POST',
      join,
      { token: f.carol.token, body: { password: 'nope' } },
      401,
      'Password is not correct',
    );
    await f.rejected('POST', join, { token: f.carol.token, body: {} }, 401, 'Password is not correct');
    await f.rejected(
      'POST',
      join,
      { token: f.carol.token, body: { password: '' } },
      401,
      'Password is not correct',
    );
  });
});
