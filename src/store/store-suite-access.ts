import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Fixture, makers } from './store-suite-fixture.ts';
import { ParticipantStatus } from './types.ts';

/** Room grants and the participant queries behind room access (who may join, who is live). */
export function accessTests(ctx: Fixture): void {
  const { user, room } = makers(ctx);

  it('grants: add is idempotent, exists, remove; deleting the room or the user removes them', async () => {
    const { grants } = ctx.store;
    const [u, v, r] = [await user(), await user(), await room()];
    assert.equal(await grants.exists(r.id, u.id), false);
    await grants.add(r.id, u.id);
    await grants.add(r.id, u.id);
    await grants.add(r.id, v.id);
    assert.equal(await grants.exists(r.id, u.id), true);
    await grants.remove(r.id, u.id);
    assert.equal(await grants.exists(r.id, u.id), false);
    assert.equal(await grants.exists(r.id, v.id), true, 'only that user');
    await ctx.db.run('DELETE FROM rooms WHERE id = $1', [r.id]);
    const left = await ctx.db.query('SELECT 1 AS x FROM room_grants WHERE room_id = $1', [r.id]);
    assert.deepEqual(left, [], 'cascade from rooms');
  });

  it('participants: deleteForUser removes the user’s rows in the room, but the one kept', async () => {
    const { participants } = ctx.store;
    const [u, v, r, other] = [await user(), await user(), await room(), await room()];
    const old = await participants.create({ roomId: r.id, userId: u.id });
    const kept = await participants.create({ roomId: r.id, userId: u.id });
    const theirs = await participants.create({ roomId: r.id, userId: v.id });
    const elsewhere = await participants.create({ roomId: other.id, userId: u.id });
    assert.deepEqual(await participants.deleteForUser(r.id, u.id, { exceptId: kept.id }), [old.id]);
    const ids = async (roomId: number) => (await participants.listByRoom(roomId)).map((p) => p.id);
    assert.deepEqual(await ids(r.id), [kept.id, theirs.id]);
    assert.deepEqual(await participants.deleteForUser(r.id, u.id), [kept.id]);
    assert.deepEqual(await ids(other.id), [elsewhere.id]);
  });

  it('participants: markAttached once; rows never attached are purged after their time', async () => {
    const { participants } = ctx.store;
    const [u, r] = [await user(), await room()];
    const attached = await participants.create({ roomId: r.id, userId: u.id });
    const never = await participants.create({ roomId: r.id, userId: u.id });
    assert.equal(attached.attachedAt, null);
    await participants.markAttached(attached.id);
    const first = ctx.clock.now();
    ctx.clock.advance(1000);
    await participants.markAttached(attached.id);
    assert.equal((await participants.findById(attached.id))?.attachedAt, first, 'the first attach stays');
    // The suite shares one database: other tests' rows may go too, so these rows are checked.
    await participants.deleteNeverAttachedBefore(never.createdAt);
    assert.ok(await participants.findById(never.id), 'strictly before');
    ctx.clock.advance(1);
    const young = await participants.create({ roomId: r.id, userId: u.id });
    assert.ok((await participants.deleteNeverAttachedBefore(young.createdAt)) >= 1);
    assert.equal(await participants.findById(never.id), undefined);
    assert.ok(await participants.findById(attached.id));
    assert.ok(await participants.findById(young.id));
  });

  it('participants: findLive is an active row, or an inactive one still within the grace', async () => {
    const { participants } = ctx.store;
    const [u, r] = [await user(), await room()];
    const since = ctx.clock.now();
    assert.equal(await participants.findLive(r.id, u.id, since), undefined);
    const p = await participants.create({ roomId: r.id, userId: u.id });
    assert.equal((await participants.findLive(r.id, u.id, since))?.id, p.id);
    await participants.setStatus(p.id, ParticipantStatus.Inactive);
    assert.equal((await participants.findLive(r.id, u.id, since))?.id, p.id, 'inactive since then');
    ctx.clock.advance(1000);
    assert.equal(await participants.findLive(r.id, u.id, ctx.clock.now()), undefined, 'grace over');
    await participants.delete(p.id);
    assert.equal(await participants.findLive(r.id, u.id, since), undefined, 'deleted');
  });
}
