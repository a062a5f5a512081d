import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Api, login, type Session, startApi } from './harness.ts';

/**
 * Regressions found by the REST fuzz target (src/api/rest-bodies.fuzz.test.ts): URLs the router
 * refuses before any route runs were answered with Fastify's own error body
 * (`{error, code, message, statusCode}`, the whole path echoed back) instead of `{ message }`, and
 * a valid JSON body with a `__proto__` key was called "not valid JSON".
 */
describe('REST: requests refused before validation (fuzz findings)', () => {
  let api: Api;
  let alice: Session;
  before(async () => {
    api = await startApi();
    alice = await login(api, 'router-errors-alice');
  });
  after(() => api.close());

  it('fuzz: an over-long path parameter is answered 414 { message } without echoing the path', async () => {
    const long = 'a'.repeat(5000);
    const res = await api.call('POST', `/rooms/${long}/members`, { token: alice.token, body: { userId: 1 } });
    assert.equal(res.status, 414, res.text);
    assert.deepEqual(Object.keys(res.body), ['message'], res.text);
    assert.ok(!res.text.includes(long.slice(0, 300)), 'the path is echoed back');
  });

  it('fuzz: a malformed percent-encoding in a path parameter is answered 400 { message }', async () => {
    const res = await api.call('GET', '/rooms/%E0%A4%A', { token: alice.token });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(Object.keys(res.body), ['message'], res.text);
  });

  it('router errors are sent with X-Content-Type-Options: nosniff, as every other answer', async () => {
    const res = await api.call('GET', '/rooms/%E0%A4%A', { token: alice.token });
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('fuzz: a JSON body with a __proto__ key is answered 400 naming the key, not "not valid JSON"', async () => {
    for (const rawBody of [
      '{"title":"x","__proto__":{"admin":true}}',
      '{"title":{"constructor":{"prototype":{}}}}',
    ]) {
      const res = await api.call('POST', '/rooms', { token: alice.token, rawBody });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(Object.keys(res.body), ['message'], res.text);
      assert.match(res.body.message, /^body: .*"__proto__"/, res.text);
      assert.doesNotMatch(res.body.message, /not valid JSON/, res.text);
    }
  });
});
