import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { login, nextEvent, type TestUser } from '../support/clients.ts';
import { startTestServer } from '../support/server.ts';
import { useServerWithClients } from '../support/server-clients.ts';

const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';
const JOINS = 500;

interface RoomReply {
  id: number;
  code: string;
  participants: Array<{ id: number; userId: number }>;
}

/**
 * Finding 5, "join flood": 500 joins by one user made 500 participant rows that were never
 * cleaned up, and the room view grew from 676 to 218,579 bytes. One live participant per user and
 * room: a new join replaces the old one.
 */
describe('security: join flood (finding 5)', () => {
  const live = useServerWithClients(() => startTestServer({ HTTP_RATE_LIMIT_PER_SECOND: '100000' }));
  let alice: TestUser;
  let mallory: TestUser;

  before(async () => {
    // One client's 500 requests must not meet the per-IP HTTP rate limit.
    alice = await login(live.call, 'flood-alice');
    mallory = await login(live.call, 'flood-mallory');
  });

  it('500 joins by one user leave one participant row of that user, and the room view stays small', async () => {
    const room = (
      await live.call<RoomReply>('POST', '/rooms', { token: alice.token, body: { title: 'Flood' } })
    ).body;
    const viewBytes = async () => {
      const res = await fetch(`${live.server.baseUrl}/busapi/v3/rooms/${room.code}`, {
        headers: { 'x-api-key': 'test-api-key', authorization: `Bearer ${mallory.token}` },
      });
      assert.equal(res.status, 200);
      return (await res.text()).length;
    };
    await live.call('POST', `/rooms/${room.id}/join`, { token: alice.token, body: {} });
    const before = await viewBytes();
    let last: RoomReply | undefined;
    for (let i = 0; i < JOINS; i++) {
      const res = await live.call<RoomReply>('POST', `/rooms/${room.id}/join`, {
        token: mallory.token,
        body: {},
      });
      assert.equal(res.status, 201);
      last = res.body;
    }
    const byCode = await live.call<RoomReply>('GET', `/rooms/${room.code}`, { token: mallory.token });
    const mine = byCode.body.participants.filter((p) => p.userId === mallory.id);
    assert.equal(mine.length, 1, 'one participant row of the user');
    assert.equal(
      mine[0]!.id,
      last!.participants.filter((p) => p.userId === mallory.id).at(-1)!.id,
      'the newest',
    );
    const afterBytes = await viewBytes();
    assert.ok(afterBytes < before * 2, `room view grew from ${before} to ${afterBytes} bytes`);
  });

  it('a new join replaces the old participant: the socket holding it is told and taken out', async () => {
    const room = (
      await live.call<RoomReply>('POST', '/rooms', { token: alice.token, body: { title: 'Twice' } })
    ).body;
    const join = async () => {
      const res = await live.call<RoomReply>('POST', `/rooms/${room.id}/join`, {
        token: alice.token,
        body: {},
      });
      return res.body.participants.filter((p) => p.userId === alice.id).at(-1)!.id;
    };
    const first = await join();
    const s = await live.connect(alice.token);
    const ack = await s.timeout(3000).emitWithAck('room.publish', {
      sdp: OFFER,
      roomId: String(room.id),
      participantId: String(first),
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 2,
      connectionType: 0,
    });
    assert.deepEqual(ack, {}, 'published');
    const told = nextEvent<{ event: string; code: string }>(s, 'system.error');
    const second = await join();
    assert.notEqual(second, first);
    const notice = await told;
    assert.equal(notice.code, 'permission_denied');
    const rows = await live.call<RoomReply>('GET', `/rooms/${room.code}`, { token: alice.token });
    assert.deepEqual(
      rows.body.participants.filter((p) => p.userId === alice.id).map((p) => p.id),
      [second],
    );
  });
});
