import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdminControl } from '../../src/api/deps.ts';
import { ParticipantId, type RoomId } from '../../src/lib/ids.ts';
import { DEFAULT_GRANTS, mintJoinToken } from '../../src/lib/join-token.ts';
import type { MuteKinds } from '../../src/protocol/participant-control.ts';
import type { RoomInspection } from '../../src/protocol/sfu-api.ts';
import { type Api, type Json, login, type Session, startApi } from './harness.ts';

/**
 * The admin routes (docs/admin.md) on the real REST server: who may call them (the server secret,
 * a join token with roomAdmin for its own room), their validation and 404s, and what they ask of
 * the SFU and of signalling, which are a recording fake here (test/cli/admin-cli.test.ts drives
 * the real ones).
 */

const SECRET = 'admin-routes-secret-0123456789abcdef';

class FakeAdmin implements AdminControl {
  readonly mutes: Array<{ roomId: string; participantId: string; kinds: MuteKinds }> = [];
  readonly removals: Array<{ roomId: string; participantId: string; reason: string }> = [];
  inspection: (roomId: RoomId) => RoomInspection = (roomId) => ({
    roomId,
    nodeId: 'node-1',
    participants: [],
  });
  readonly sfu = { inspectRoom: async (roomId: RoomId) => this.inspection(roomId) };
  readonly participants = {
    mute: (roomId: RoomId, participantId: ParticipantId, kinds: MuteKinds) =>
      this.mutes.push({ roomId, participantId, kinds }),
    remove: (roomId: RoomId, participantId: ParticipantId, reason: 'removed' | 'ended') =>
      this.removals.push({ roomId, participantId, reason }),
  };
}

describe('admin routes', () => {
  let api: Api;
  let admin: FakeAdmin;
  let alice: Session;
  let bob: Session;
  let room: Json;
  let other: Json;
  const operator = { authorization: `Bearer ${SECRET}` };
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = operator) =>
    api.call(method, path, { apiKey: null, headers, ...(body === undefined ? {} : { body }) });
  const join = async (who: Session, r: Json) => {
    await api.call('GET', `/rooms/${r.code}`, { token: who.token });
    const res = await api.call('POST', `/rooms/${r.id}/join`, { token: who.token, body: {} });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.participants.at(-1).id as number;
  };
  const tokenFor = (code: string, roomAdmin: boolean) =>
    mintJoinToken(
      {
        identity: `ext-${code}-${roomAdmin}`,
        room: code,
        grants: { ...DEFAULT_GRANTS, roomAdmin },
        ttlS: 600,
      },
      SECRET,
    );

  before(async () => {
    admin = new FakeAdmin();
    api = await startApi({ admin, identitySecret: SECRET });
    alice = await login(api, 'ext-alice');
    bob = await login(api, 'ext-bob');
    room = (await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Standup' } })).body;
    other = (await api.call('POST', '/rooms', { token: bob.token, body: { title: 'Other' } })).body;
  });

  after(() => api.close());

  it('refuses callers without the server secret (401), join tokens without roomAdmin or of another room (403)', async () => {
    assert.equal((await call('GET', '/admin/rooms', undefined, {})).status, 401);
    assert.equal(
      (await call('GET', '/admin/rooms', undefined, { authorization: 'Bearer wrong' })).status,
      401,
    );
    assert.equal(
      (
        await call('GET', `/admin/rooms/${room.id}/participants`, undefined, {
          authorization: `Bearer ${alice.token}`,
        })
      ).status,
      401,
      'an access token is no admin credential',
    );
    const plain = { authorization: `Bearer ${tokenFor(room.code, false)}` };
    assert.equal((await call('GET', `/admin/rooms/${room.id}/participants`, undefined, plain)).status, 403);
    const roomAdmin = { authorization: `Bearer ${tokenFor(room.code, true)}` };
    assert.equal(
      (await call('GET', `/admin/rooms/${other.id}/participants`, undefined, roomAdmin)).status,
      403,
    );
    assert.equal(
      (await call('GET', '/admin/rooms', undefined, roomAdmin)).status,
      403,
      'the list is the operator’s',
    );
    const own = await call('GET', `/admin/rooms/${room.code}/participants`, undefined, roomAdmin);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual(admin.mutes, []);
  });

  it('answers 501 on a server without AUTH_IDENTITY_SECRET', async () => {
    const bare = await startApi({ admin: new FakeAdmin() });
    try {
      const res = await bare.call('GET', '/admin/rooms', { apiKey: null, headers: operator });
      assert.equal(res.status, 501);
    } finally {
      await bare.close();
    }
  });

  it('lists live rooms with their participant count and node; inspects a room by id or code with the SFU’s tracks', async () => {
    const a = await join(alice, room);
    const b = await join(bob, room);
    await api.store.participants.setNode(a, 'sfu-7');
    admin.inspection = (roomId) => ({
      roomId,
      nodeId: 'sfu-7',
      participants: [
        {
          participantId: ParticipantId(String(a)),
          tracks: [
            {
              trackId: 'cam',
              kind: 'video',
              source: 'camera',
              codec: 'video/VP8',
              rids: ['q', 'h', 'f'],
              layers: 3,
              muted: false,
              bitrateBps: 900_000,
              subscribers: [{ participantId: ParticipantId(String(b)), spatial: 2, temporal: 1 }],
            },
          ],
          bitrateInBps: 900_000,
          bitrateOutBps: 0,
          bytesIn: 1000,
          bytesOut: 0,
        },
        {
          participantId: ParticipantId('whep-1'),
          tracks: [],
          bitrateInBps: 0,
          bitrateOutBps: 1,
          bytesIn: 0,
          bytesOut: 9,
        },
      ],
    });
    const list = await call('GET', '/admin/rooms');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.rooms.find((r: Json) => r.id === room.id),
      { id: room.id, code: room.code, title: 'Standup', participants: 2, nodeId: 'sfu-7' },
    );
    for (const ref of [room.id, room.code]) {
      const res = await call('GET', `/admin/rooms/${ref}/participants`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.nodeId, 'sfu-7');
      assert.deepEqual(
        res.body.participants.map((p: Json) => [p.id, p.userId, p.status, p.tracks.length]),
        [
          [String(a), alice.id, 'active', 1],
          [String(b), bob.id, 'active', 0],
          ['whep-1', null, 'media', 0],
        ],
      );
      assert.deepEqual(res.body.participants[0].tracks[0].subscribers, [
        { participantId: String(b), spatial: 2, temporal: 1 },
      ]);
    }
    assert.equal((await call('GET', '/admin/rooms/nope-nope-nop/participants')).status, 404);
    assert.equal((await call('GET', '/admin/rooms/a%20b/participants')).status, 400);
  });

  it('mute validates its body and ids, then asks signalling to mute', async () => {
    const p = await join(alice, room);
    const q = await join(bob, other);
    const path = `/admin/rooms/${room.id}/participants/${p}/mute`;
    for (const body of [{}, { audio: false }, { audio: 'yes' }, { audio: true, extra: 1 }])
      assert.equal((await call('POST', path, body)).status, 400, JSON.stringify(body));
    assert.equal(
      (await call('POST', `/admin/rooms/${room.id}/participants/999999/mute`, { audio: true })).status,
      404,
    );
    assert.equal(
      (await call('POST', `/admin/rooms/${room.id}/participants/${q}/mute`, { audio: true })).status,
      404,
      "another room's participant",
    );
    assert.equal((await call('POST', `/admin/rooms/0/participants/${p}/mute`, { audio: true })).status, 404);
    const res = await call('POST', path, { video: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(admin.mutes.at(-1), {
      roomId: String(room.id),
      participantId: String(p),
      kinds: { audio: false, video: true },
    });
  });

  it('remove asks signalling to evict the participant and deletes its row; a second remove is a 404', async () => {
    const p = await join(bob, room);
    const path = `/admin/rooms/${room.code}/participants/${p}`;
    const res = await call('DELETE', path);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(admin.removals.at(-1), {
      roomId: String(room.id),
      participantId: String(p),
      reason: 'removed',
    });
    assert.equal(await api.store.participants.findById(p), undefined);
    assert.equal((await call('DELETE', path)).status, 404);
  });

  it('end removes every participant of the room and leaves the room joinable', async () => {
    const ended = (await api.call('POST', '/rooms', { token: alice.token, body: { title: 'Ending' } })).body;
    const ids = [await join(alice, ended), await join(bob, ended)];
    const res = await call('POST', `/admin/rooms/${ended.id}/end`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.removed, ids.map(String));
    assert.deepEqual(
      admin.removals.slice(-2).map((r) => [r.participantId, r.reason]),
      ids.map((id) => [String(id), 'ended']),
    );
    assert.deepEqual(await api.store.participants.listByRoom(ended.id), []);
    await join(alice, ended);
  });

  it('metadata must be JSON text of at most 4096 bytes; it is stored and sent to the room as room.participant_metadata', async () => {
    const p = await join(alice, room);
    const path = `/admin/rooms/${room.id}/participants/${p}/metadata`;
    for (const body of [{}, { metadata: 'not json' }, { metadata: 7 }, { metadata: `"${'é'.repeat(2048)}"` }])
      assert.equal((await call('PUT', path, body)).status, 400, JSON.stringify(body).slice(0, 40));
    const metadata = JSON.stringify({ seat: 4, role: 'speaker' });
    const res = await call('PUT', path, { metadata });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await api.store.participants.findById(p))?.metadata, metadata);
    assert.deepEqual(api.broadcasts.at(-1), {
      roomId: String(room.id),
      event: 'room.participant_metadata',
      payload: { participantId: String(p), metadata },
    });
    const listed = await call('GET', `/admin/rooms/${room.id}/participants`);
    assert.equal(listed.body.participants.find((x: Json) => x.id === String(p)).metadata, metadata);
  });
});
