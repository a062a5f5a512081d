import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ParticipantId, RoomId, type UserId } from '../../src/lib/ids.ts';
import { signToken } from '../../src/lib/jwt.ts';
import { unavailableSfu } from '../../src/sfu/index.ts';
import { openStore, ParticipantStatus, type Store } from '../../src/store/index.ts';
import { connectSocket, nextEvent } from '../support/clients.ts';
import { type InProcessSignalling, startInProcessSignalling } from '../support/in-process-signalling.ts';
import { pushedEvents } from '../support/pushed-events.ts';

const SECRET = 'media-lost-secret-0123456789';

describe('signalling when the SFU reports a participant lost', () => {
  let store: Store;
  let live: InProcessSignalling;
  let baseUrl: string;
  /** An SfuApi whose room events the test pushes (what a media worker reports). */
  const sfu = { ...unavailableSfu(), ...pushedEvents() };

  before(async () => {
    store = await openStore({ sqlitePath: ':memory:' });
    live = await startInProcessSignalling({ store, sfu, jwtSecret: SECRET, nodeId: 'test-node' });
    baseUrl = live.baseUrl;
  });
  after(async () => {
    await live.close();
    await store.close();
  });

  it('the lost participant is told to publish again; the room gets participant_left; its row waits for a reconnect', async () => {
    const users = await Promise.all(
      ['a', 'b'].map((n) =>
        store.users.create({ fullName: n, externalId: `ext-${n}`, userName: `user-${n}` }),
      ),
    );
    const room = await store.rooms.create({
      title: 'r',
      passwordHash: null,
      avatar: null,
      code: 'abc-defg-hij',
      type: 0,
    });
    const parts = await Promise.all(
      users.map((u) => store.participants.create({ roomId: room.id, userId: u.id })),
    );
    const token = (id: UserId) =>
      signToken({ id: String(id), exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    const sockets = await Promise.all(users.map((u) => connectSocket(baseUrl, token(u.id))));
    try {
      for (const [i, s] of sockets.entries()) {
        await s
          .timeout(2000)
          .emitWithAck('room.reconnect', { roomId: String(room.id), participantId: String(parts[i]!.id) });
      }
      const told = nextEvent<{ event: string; code: string; message: string }>(sockets[0]!, 'system.error');
      const left = nextEvent<{ targetId: string }>(sockets[1]!, 'room.participant_left');
      sfu.push(RoomId(room.id), {
        type: 'participantLost',
        participantId: String(parts[0]!.id) as ParticipantId,
        reason: 'worker_restarted',
      });
      const t = await told;
      assert.equal(t.code, 'unavailable');
      assert.match(t.message, /worker_restarted.*publish again/);
      assert.deepEqual(await left, { targetId: String(parts[0]!.id) });
      const row = await store.participants.findById(parts[0]!.id);
      assert.equal(row?.status, ParticipantStatus.Inactive, 'kept, inactive, for the reconnect grace period');
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
