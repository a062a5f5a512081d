import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserId } from '../lib/ids.ts';
import { silentLogger } from '../lib/logger.ts';
import { openStore } from '../store/index.ts';
import { toTimestamp } from '../store/timestamps.ts';
import { ParticipantStatus } from '../store/types.ts';
import { MIN_ATTACH_WAIT_MS, sweepParticipants } from './participant-sweeper.ts';

describe('sweepParticipants', () => {
  it('purges rows no socket took after the attach wait, and inactive rows after the grace', async () => {
    const clock = { ms: Date.parse('2025-07-23T10:00:00Z'), nowMs: () => clock.ms };
    const store = await openStore({ sqlitePath: ':memory:', clock });
    try {
      const user = await store.users.create({ fullName: null, externalId: 'e', userName: 'u' });
      const room = await store.rooms.create({
        title: 't',
        passwordHash: null,
        avatar: null,
        code: 'c',
        type: 0,
      });
      const input = { roomId: room.id, userId: UserId(user.id) };
      const [never, held, dropped] = [
        await store.participants.create(input),
        await store.participants.create(input),
        await store.participants.create(input),
      ];
      await store.participants.markAttached(held.id);
      await store.participants.markAttached(dropped.id);
      await store.participants.setStatus(dropped.id, ParticipantStatus.Inactive);
      const sweep = (nowMs: number) =>
        sweepParticipants(store, { reconnectGraceMs: 1000, nowMs, log: silentLogger() });
      const ids = async () => (await store.participants.listByRoom(room.id)).map((p) => p.id);
      await sweep(clock.ms + 500);
      assert.deepEqual(await ids(), [never.id, held.id, dropped.id], 'within the grace');
      await sweep(clock.ms + 1001);
      assert.deepEqual(await ids(), [never.id, held.id], 'inactive past the grace');
      await sweep(clock.ms + MIN_ATTACH_WAIT_MS + 1);
      assert.deepEqual(await ids(), [held.id], 'never attached past the attach wait; an attached row stays');
      assert.equal(toTimestamp(new Date(clock.ms)), held.createdAt);
    } finally {
      await store.close();
    }
  });
});
