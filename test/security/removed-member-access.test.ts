import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Socket } from 'socket.io-client';
import { login, nextEvent, type TestUser } from '../support/clients.ts';
import { useServerWithClients } from '../support/server-clients.ts';

const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';

interface RoomReply {
  id: number;
  code: string;
  participants: Array<{ id: number; userId: number }>;
}

function publishPayload(roomId: number, participantId: number) {
  return {
    sdp: OFFER,
    roomId: String(roomId),
    participantId: String(participantId),
    isVideoEnabled: true,
    isAudioEnabled: true,
    isE2eeEnabled: false,
    totalTracks: 2,
    connectionType: 0,
  };
}

/**
 * Finding 3, "a removed member keeps access": after the host removed a member and changed the
 * password, the member still read and posted chat, and `room.publish` with the old participant id
 * succeeded, because the participant row left by the join was never removed.
 */
describe('security: removed member access (finding 3)', () => {
  const live = useServerWithClients();
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    alice = await login(live.call, 'removed-alice');
    bob = await login(live.call, 'removed-bob');
  });

  /** Alice's room with bob as a member, both joined and publishing (P2P) on their sockets. */
  async function roomInCall() {
    const room = (
      await live.call<RoomReply>('POST', '/rooms', {
        token: alice.token,
        body: { title: 'Team', password: 'old' },
      })
    ).body;
    const added = await live.call('POST', `/rooms/${room.id}/members`, {
      token: alice.token,
      body: { userId: bob.id },
    });
    assert.equal(added.status, 201);
    const pidOf = async (user: TestUser) => {
      const res = await live.call<RoomReply>('POST', `/rooms/${room.id}/join`, {
        token: user.token,
        body: {},
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.participants.filter((p) => p.userId === user.id).at(-1)!.id;
    };
    const [alicePid, bobPid] = [await pidOf(alice), await pidOf(bob)];
    const [a, b] = [await live.connect(alice.token), await live.connect(bob.token)];
    a.emit('room.publish', publishPayload(room.id, alicePid));
    const bobSeen = nextEvent<{ participant: { id: number } }>(a, 'room.new_participant');
    b.emit('room.publish', publishPayload(room.id, bobPid));
    assert.equal((await bobSeen).participant.id, bobPid);
    return { room, bobPid, a, b };
  }

  async function assertNoAccess(room: RoomReply, bobPid: number, b: Socket) {
    const read = await live.call('GET', `/chats/${room.id}`, { token: bob.token });
    assert.equal(read.status, 403, `read chat: ${JSON.stringify(read.body)}`);
    const post = await live.call('POST', `/chats/${room.id}`, {
      token: bob.token,
      body: { data: 'still here' },
    });
    assert.equal(post.status, 403, `post chat: ${JSON.stringify(post.body)}`);
    const refused = nextEvent<{ event: string; code: string }>(
      b,
      'system.error',
      3000,
      (e) => e.event === 'room.publish',
    );
    b.emit('room.publish', publishPayload(room.id, bobPid));
    assert.match((await refused).code, /not_found|permission_denied/);
    const rejoin = await live.call('POST', `/rooms/${room.id}/join`, {
      token: bob.token,
      body: { password: 'old' },
    });
    assert.equal(rejoin.status, 403, `rejoin with the old password: ${JSON.stringify(rejoin.body)}`);
  }

  it('the host removing a member ends its access at once: socket told and out, chat and publish refused', async () => {
    const { room, bobPid, a, b } = await roomInCall();
    const told = nextEvent<{ event: string; code: string; message: string }>(b, 'system.error');
    const left = nextEvent<{ targetId: string }>(a, 'room.participant_left');
    const removed = await live.call('DELETE', `/rooms/${room.id}/members`, {
      token: alice.token,
      body: { userId: bob.id },
    });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const [notice, leftEvent] = await Promise.all([told, left]);
    assert.deepEqual([notice.event, notice.code], ['room.removed', 'permission_denied']);
    assert.equal(leftEvent.targetId, String(bobPid));
    const changed = await live.call('PUT', `/rooms/${room.id}`, {
      token: alice.token,
      body: { password: 'new' },
    });
    assert.equal(changed.status, 200);
    await assertNoAccess(room, bobPid, b);
  });

  it('a member leaving (DELETE /rooms/{id}) ends its access the same way', async () => {
    const { room, bobPid, a, b } = await roomInCall();
    const told = nextEvent<{ event: string; code: string }>(b, 'system.error');
    const left = nextEvent<{ targetId: string }>(a, 'room.participant_left');
    const res = await live.call('DELETE', `/rooms/${room.id}`, { token: bob.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [notice, leftEvent] = await Promise.all([told, left]);
    assert.deepEqual([notice.event, notice.code], ['room.removed', 'permission_denied']);
    assert.equal(leftEvent.targetId, String(bobPid));
    await assertNoAccess(room, bobPid, b);
  });
});
