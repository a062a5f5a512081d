import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Api, type Json, login, type Session, startApi } from '../api/harness.ts';

/**
 * Finding 2, "a room's number is enough to enter it": `POST /rooms/1/join {}` answered 201, then
 * `GET /chats/1` returned the whole history (and the participant let the caller into the call).
 * Room ids are sequential, so every room without a password could be walked.
 */
describe('security: room id walk (finding 2)', () => {
  let api: Api;
  let alice: Session;
  let mallory: Session;
  let room: Json;

  before(async () => {
    api = await startApi();
    alice = await login(api, 'walk-alice');
    mallory = await login(api, 'walk-mallory');
    room = (await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Board' } })).body;
    await api.call('POST', `/chats/${room.id}`, { token: alice.token, body: { data: 'secret plan' } });
  });
  after(() => api.close());

  it('joining a room by its number alone is refused (403), and no participant is created', async () => {
    for (let id = 1; id <= room.id; id++) {
      const res = await api.call('POST', `/rooms/${id}/join`, { token: mallory.token, body: {} });
      assert.equal(res.status, 403, `room ${id}: ${res.text}`);
      assert.match(res.body.message, /Open the room by its code first/);
    }
    const rows = await api.store.participants.listByRoom(room.id);
    assert.deepEqual(
      rows.filter((p) => p.userId === mallory.id),
      [],
    );
  });

  it('after a refused join the chat history stays closed (403)', async () => {
    const history = await api.call('GET', `/chats/${room.id}`, { token: mallory.token });
    assert.equal(history.status, 403, history.text);
    const post = await api.call('POST', `/chats/${room.id}`, { token: mallory.token, body: { data: 'x' } });
    assert.equal(post.status, 403, post.text);
  });

  it('the protocol flow still works: GET /rooms/{code} first, then join by id', async () => {
    const byCode = await api.call('GET', `/rooms/${room.code}`, { token: mallory.token });
    assert.equal(byCode.status, 200, byCode.text);
    const joined = await api.call('POST', `/rooms/${room.id}/join`, { token: mallory.token, body: {} });
    assert.equal(joined.status, 201, joined.text);
    assert.ok(joined.body.participants.some((p: Json) => p.userId === mallory.id));
    const history = await api.call('GET', `/chats/${room.id}`, { token: mallory.token });
    assert.equal(history.status, 200, history.text);
  });

  it('a grant opens only the room whose code was shown, and a password room still wants its password', async () => {
    const other = (await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Other' } })).body;
    const refused = await api.call('POST', `/rooms/${other.id}/join`, { token: mallory.token, body: {} });
    assert.equal(refused.status, 403, refused.text);
    const locked = (
      await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Locked', password: 'pw' } })
    ).body;
    await api.call('GET', `/rooms/${locked.code}`, { token: mallory.token });
    const noPassword = await api.call('POST', `/rooms/${locked.id}/join`, { token: mallory.token, body: {} });
    assert.equal(noPassword.status, 401, noPassword.text);
    const withPassword = await api.call('POST', `/rooms/${locked.id}/join`, {
      token: mallory.token,
      body: { password: 'pw' },
    });
    assert.equal(withPassword.status, 201, withPassword.text);
  });

  it('members join without showing the code (as before)', async () => {
    const res = await api.call('POST', `/rooms/${room.id}/join`, { token: alice.token, body: {} });
    assert.equal(res.status, 201, res.text);
  });
});
