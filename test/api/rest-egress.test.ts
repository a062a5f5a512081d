import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SfuError } from '../../src/lib/errors.ts';
import { EgressTable } from '../support/egress-table.ts';
import { type Api, type Json, login, type Session, startApi } from './harness.ts';

/**
 * The egress control routes (docs/egress.md) on the real REST server: who may start, list and stop
 * a room's egresses (the host, a `roomAdmin` join token, the operator's backend with the server
 * secret), what they answer without egress, and the absolute URLs in their replies. The media side
 * is the SfuApi's egress operations, kept here as a table of egresses that records its calls.
 */

const SECRET = 'egress-admin-secret-0123456789abcdef';

describe('egress control routes', () => {
  let api: Api;
  let table: EgressTable;
  let alice: Session;
  let bob: Session;
  let room: Json;

  before(async () => {
    table = new EgressTable();
    table.refuse = (req) =>
      req.participantId === '999'
        ? new SfuError('not_found', 'participant 999 publishes nothing')
        : undefined;
    api = await startApi({ egress: table, identitySecret: SECRET });
    alice = await login(api, 'ext-alice');
    bob = await login(api, 'ext-bob');
    room = (await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Live' } })).body;
    await api.call('POST', `/rooms/${room.id}/members`, { token: alice.token, body: { userId: bob.id } });
  });

  after(() => api.close());

  it('the host starts an HLS egress of one participant: the request names the room and the host, the reply has the playlist URL', async () => {
    const res = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'hls', participantId: 12 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(table.calls.at(-1), {
      roomId: String(room.id),
      kind: 'hls',
      participantId: '12',
      stageId: null,
      layer: -1,
      requestedBy: `user:${alice.id}`,
    });
    assert.equal(res.body.state, 'active');
    assert.deepEqual(res.body.urls, [`${api.baseUrl}/egress/${res.body.egressId}/master.m3u8`]);
  });

  it('a recording lists its files as URLs; a node with its own egress root keeps it', async () => {
    const rec = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'recording' },
    });
    assert.equal(rec.status, 201);
    assert.equal(table.calls.at(-1)?.participantId, null, 'no participant: the whole room');
    assert.deepEqual(rec.body.urls, [`${api.baseUrl}/egress/${rec.body.egressId}/room.webm`]);
    const moq = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'moq' },
    });
    assert.equal(moq.status, 201);
    assert.deepEqual(moq.body.urls, [], 'a MoQ broadcast has no file to fetch');
    // A cluster node with EGRESS_PUBLIC_URL names its own root: the URLs are built on it.
    const info = table.egresses.get(rec.body.egressId);
    assert.ok(info);
    table.egresses.set(info.egressId, { ...info, baseUrl: 'https://media.example.org/egress/' });
    const listed = await api.call('GET', `/rooms/${room.id}/egress`, { token: alice.token });
    const again = listed.body.find((e: Json) => e.egressId === rec.body.egressId);
    assert.deepEqual(again.urls, [`https://media.example.org/egress/${rec.body.egressId}/room.webm`]);
  });

  it('an HLS egress mirrored to a bucket answers its playlist URL first, then the bucket copy as it is', async () => {
    const res = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'hls', participantId: 12 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const info = table.egresses.get(res.body.egressId);
    assert.ok(info);
    const bucketUrl = `http://127.0.0.1:9000/egress/hls/${info.egressId}/12/master.m3u8`;
    table.egresses.set(info.egressId, { ...info, files: [bucketUrl] });
    const listed = await api.call('GET', `/rooms/${room.id}/egress`, { token: alice.token });
    const again = listed.body.find((e: Json) => e.egressId === info.egressId);
    assert.deepEqual(again.urls, [`${api.baseUrl}/egress/${info.egressId}/master.m3u8`, bucketUrl]);
  });

  it('list and stop: the stopped egress answers with its final state', async () => {
    const list = await api.call('GET', `/rooms/${room.id}/egress`, { token: alice.token });
    assert.equal(list.status, 200);
    assert.ok(list.body.length >= 1);
    const id = list.body[0].egressId;
    const stop = await api.call('DELETE', `/rooms/${room.id}/egress/${id}`, { token: alice.token });
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    assert.equal(stop.body.state, 'ended');
    assert.equal(stop.body.reason, 'stopped');
    const missing = await api.call('DELETE', `/rooms/${room.id}/egress/eg-404`, { token: alice.token });
    assert.equal(missing.status, 404);
  });

  it('an attendee may not start, list or stop; bad bodies are refused naming the field', async () => {
    const before = table.calls.length;
    const start = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: bob.token,
      body: { kind: 'hls' },
    });
    assert.equal(start.status, 403);
    assert.equal((await api.call('GET', `/rooms/${room.id}/egress`, { token: bob.token })).status, 403);
    assert.equal(
      (await api.call('DELETE', `/rooms/${room.id}/egress/eg-1`, { token: bob.token })).status,
      403,
    );
    const bad = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'rtmp' },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /kind/);
    const extra = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'hls', path: '../../etc' },
    });
    assert.equal(extra.status, 400);
    assert.equal(table.calls.length, before, 'nothing reached the media side');
  });

  it("the SFU's refusal reaches the caller with its status", async () => {
    const res = await api.call('POST', `/rooms/${room.id}/egress`, {
      token: alice.token,
      body: { kind: 'hls', participantId: 999 },
    });
    assert.equal(res.status, 404);
    assert.match(res.body.message, /publishes nothing/);
  });

  it('the admin door takes the server secret, not a user token', async () => {
    const path = `/admin/rooms/${room.id}/egress`;
    const none = await api.call('POST', path, { body: { kind: 'recording' } });
    assert.equal(none.status, 401);
    const user = await api.call('POST', path, { token: alice.token, body: { kind: 'recording' } });
    assert.equal(user.status, 401, 'a user access token is not the server secret');
    const ok = await api.call('POST', path, { token: SECRET, body: { kind: 'recording' } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(table.calls.at(-1)?.requestedBy, 'admin');
    const unknownRoom = await api.call('POST', '/admin/rooms/424242/egress', {
      token: SECRET,
      body: { kind: 'hls' },
    });
    assert.equal(unknownRoom.status, 404);
  });
});

describe('egress control routes on a server without egress', () => {
  it('answer 501 saying how to turn egress on; the admin door without a secret says it is not configured', async () => {
    const api = await startApi();
    try {
      const alice = await login(api, 'ext-alice');
      const room = (await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Plain' } })).body;
      const res = await api.call('POST', `/rooms/${room.id}/egress`, {
        token: alice.token,
        body: { kind: 'hls' },
      });
      assert.equal(res.status, 501);
      assert.match(res.body.message, /EGRESS_ENABLED=true/);
      const list = await api.call('GET', `/rooms/${room.id}/egress`, { token: alice.token });
      assert.equal(list.status, 501);
      const admin = await api.call('POST', `/admin/rooms/${room.id}/egress`, {
        token: 'anything',
        body: { kind: 'hls' },
      });
      assert.equal(admin.status, 501);
    } finally {
      await api.close();
    }
  });
});
