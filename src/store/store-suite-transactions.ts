import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MIGRATION_VERSIONS } from './migrations.ts';
import { type Fixture, makers, rejectsWith, unique } from './store-suite-fixture.ts';
import { MemberRole, type Store } from './types.ts';

/** Transactions, foreign keys, migrations. */
export function transactionTests(ctx: Fixture): void {
  const { user, room } = makers(ctx);

  it('transaction: commits together, a failure rolls everything back', async () => {
    const u = await user();
    const kept = await ctx.store.transaction(async (tx) => {
      const r = await tx.rooms.create({
        title: 't',
        passwordHash: null,
        avatar: null,
        code: unique('t'),
        type: 0,
      });
      await tx.members.add({ roomId: r.id, userId: u.id, role: MemberRole.Owner });
      return r;
    });
    assert.ok(await ctx.store.members.find(kept.id, u.id));
    const code = unique('rollback');
    let roomId = 0;
    await assert.rejects(
      ctx.store.transaction(async (tx) => {
        const r = await tx.rooms.create({ title: 't', passwordHash: null, avatar: null, code, type: 0 });
        roomId = r.id;
        await tx.members.add({ roomId: r.id, userId: u.id, role: MemberRole.Owner });
        await tx.messages.create({ roomId: r.id, createdById: u.id, data: 'nested', type: 0 });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await ctx.store.rooms.findByCode(code), undefined);
    assert.equal(await ctx.store.members.find(roomId, u.id), undefined);
    assert.deepEqual(await ctx.store.messages.listByRoom(roomId, { skip: 0, limit: 10 }), []);
  });

  it('transaction: the outer store inside it, or its store after it, is an error (not a hang)', async () => {
    let leaked: Store | undefined;
    await assert.rejects(
      ctx.store.transaction(async (tx) => {
        leaked = tx;
        await ctx.store.rooms.findById(1);
      }),
      rejectsWith('internal'),
    );
    await assert.rejects(leaked!.rooms.findById(1), rejectsWith('internal'));
    await room(); // the store still works
  });

  it('deleting a room or a user cascades to members, participants and messages', async () => {
    const [u, v, r] = [await user(), await user(), await room()];
    await ctx.store.members.add({ roomId: r.id, userId: u.id, role: 0 });
    const p = await ctx.store.participants.create({ roomId: r.id, userId: u.id });
    const m = await ctx.store.messages.create({ roomId: r.id, createdById: u.id, data: 'x', type: 0 });
    const r2 = await room();
    const m2 = await ctx.store.messages.create({ roomId: r2.id, createdById: v.id, data: 'x', type: 0 });
    // There is no room or user deletion in the API; exercise the foreign keys directly.
    await ctx.db.run('DELETE FROM rooms WHERE id = $1', [r.id]);
    assert.equal(await ctx.store.members.find(r.id, u.id), undefined);
    assert.equal(await ctx.store.participants.findById(p.id), undefined);
    assert.equal(await ctx.store.messages.findById(m.id), undefined);
    await ctx.db.run('DELETE FROM users WHERE id = $1', [v.id]);
    assert.equal(await ctx.store.messages.findById(m2.id), undefined);
  });

  it('migrations run again are a no-op', async () => {
    assert.deepEqual(await ctx.migrateAgain(), []);
    const rows = await ctx.db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((row) => Number(row.version)),
      [...MIGRATION_VERSIONS],
    );
  });

  it('ping() answers', async () => {
    await ctx.store.ping();
  });
}
