import assert from 'node:assert/strict';
import { it } from 'node:test';
import { UserId } from '../lib/ids.ts';
import { type Fixture, makers, rejectsWith, unique } from './store-suite-fixture.ts';
import { MemberRole, RoomStatus } from './types.ts';

/** Users, rooms and members; timestamps in the wire form. */
export function entityTests(ctx: Fixture): void {
  const { user, room } = makers(ctx);

  it('users: create, find, update, user names, last seen', async () => {
    const { users } = ctx.store;
    const u = await user();
    assert.equal(u.createdAt, ctx.clock.now());
    assert.deepEqual(await users.findById(u.id), u);
    assert.equal((await users.findByExternalId(u.externalId))?.id, u.id);
    assert.equal(await users.findById(UserId(999_999)), undefined);
    assert.equal(await users.findByExternalId('nobody'), undefined);
    ctx.clock.advance(1000);
    const updated = await users.update(u.id, { fullName: 'Ada L.', bio: 'math' });
    assert.deepEqual(
      [updated?.fullName, updated?.bio, updated?.avatar, updated?.updatedAt],
      ['Ada L.', 'math', null, ctx.clock.now()],
    );
    const withAvatar = await users.update(u.id, { fullName: 'Ada', avatar: 'a.png', bio: null });
    assert.deepEqual([withAvatar?.avatar, withAvatar?.bio], ['a.png', null]);
    assert.equal(await users.update(UserId(999_999), { fullName: 'x' }), undefined);
    assert.equal(await users.isUserNameTaken(u.userName), true);
    assert.equal(await users.isUserNameTaken(unique('free')), false);
    const renamed = await users.setUserName(u.id, unique('renamed'));
    assert.equal(await users.isUserNameTaken(u.userName), false);
    const other = await user();
    await assert.rejects(users.setUserName(other.id, renamed!.userName), rejectsWith('already_exists'));
    await assert.rejects(
      users.create({ fullName: null, externalId: u.externalId, userName: unique('x') }),
      rejectsWith('already_exists'),
    );
    await assert.rejects(
      users.create({ fullName: null, externalId: unique('e'), userName: other.userName }),
      rejectsWith('already_exists'),
    );
    const many = await users.findManyByIds([other.id, u.id, u.id]);
    assert.deepEqual(many.map((x) => x.id).sort(), [u.id, other.id].sort());
    assert.deepEqual(await users.findManyByIds([]), []);
    ctx.clock.advance(1000);
    await users.touchLastSeen(u.id);
    assert.equal((await users.findById(u.id))?.lastSeenAt, ctx.clock.now());
  });

  it('users: revokeTokens() increments the token version; an unknown user has none', async () => {
    const { users } = ctx.store;
    const u = await user();
    assert.equal(u.tokenVersion, 0);
    assert.equal(await users.revokeTokens(u.id), 1);
    assert.equal(await users.revokeTokens(u.id), 2);
    assert.equal((await users.findById(u.id))?.tokenVersion, 2);
    assert.equal(await users.revokeTokens(UserId(999_999)), undefined);
  });

  it('timestamps come back in the wire form and order across a second boundary', async () => {
    const { messages } = ctx.store;
    const [u, r] = [await user(), await room()];
    ctx.clock.ms = Date.parse('2025-07-23T11:59:59.999Z');
    const m1 = await messages.create({ roomId: r.id, createdById: u.id, data: 'a', type: 0 });
    ctx.clock.advance(1); // 12:00:00.000: PostgreSQL gives this back without a fraction
    const m2 = await messages.create({ roomId: r.id, createdById: u.id, data: 'b', type: 0 });
    assert.equal(m1.createdAt, '2025-07-23T11:59:59.999000');
    assert.equal(m2.createdAt, '2025-07-23T12:00:00.000000');
    assert.equal((await messages.findById(m2.id))?.createdAt, '2025-07-23T12:00:00.000000');
    const listed = await messages.listByRoom(r.id, { skip: 0, limit: 10 });
    assert.deepEqual(
      listed.map((m) => m.id),
      [m2.id, m1.id],
    );
  });

  it('rooms: create with and without password, find, update, status, unique code', async () => {
    const { rooms } = ctx.store;
    const r = await room();
    assert.equal(r.passwordHash, null, 'no password is stored as NULL');
    assert.equal((await room(''))?.passwordHash, null, 'never as ""');
    assert.equal((await room('scrypt$h'))?.passwordHash, 'scrypt$h');
    assert.equal(r.status, RoomStatus.Active);
    assert.deepEqual(await rooms.findById(r.id), r);
    assert.equal((await rooms.findByCode(r.code))?.id, r.id);
    assert.equal(await rooms.findById(999_999), undefined);
    assert.equal(await rooms.findByCode('nope'), undefined);
    assert.equal(await rooms.codeExists(r.code), true);
    assert.equal(await rooms.codeExists('nope'), false);
    await assert.rejects(
      rooms.create({ title: 'dup', passwordHash: null, avatar: null, code: r.code, type: 1 }),
      rejectsWith('already_exists'),
    );
    ctx.clock.advance(1000);
    const updated = await rooms.update(r.id, { title: 'New', passwordHash: 'scrypt$x', avatar: 'r.png' });
    assert.deepEqual(
      [updated?.title, updated?.passwordHash, updated?.avatar, updated?.updatedAt],
      ['New', 'scrypt$x', 'r.png', ctx.clock.now()],
    );
    const cleared = await rooms.update(r.id, { passwordHash: null });
    assert.deepEqual([cleared?.passwordHash, cleared?.title, cleared?.avatar], [null, 'New', 'r.png']);
    assert.equal((await rooms.setStatus(r.id, RoomStatus.Inactive))?.status, RoomStatus.Inactive);
    assert.equal(await rooms.update(999_999, { title: 'x' }), undefined);
    assert.equal(await rooms.setStatus(999_999, RoomStatus.Active), undefined);
  });

  it('members: add, find, list, duplicate, soft delete, remove', async () => {
    const { members } = ctx.store;
    const [u, v, r] = [await user(), await user(), await room()];
    const m = await members.add({ roomId: r.id, userId: u.id, role: MemberRole.Owner });
    await members.add({ roomId: r.id, userId: v.id, role: MemberRole.Attendee });
    await assert.rejects(members.add({ roomId: r.id, userId: u.id, role: 1 }), rejectsWith('already_exists'));
    assert.deepEqual(await members.find(r.id, u.id), m);
    assert.equal(await members.find(r.id, UserId(999_999)), undefined);
    assert.deepEqual(
      (await members.listByRoom(r.id)).map((x) => [x.userId, x.role]),
      [
        [u.id, MemberRole.Owner],
        [v.id, MemberRole.Attendee],
      ],
    );
    await members.setSoftDeletedAt(m.id, '2025-01-01T00:00:00.000000');
    assert.equal((await members.find(r.id, u.id))?.softDeletedAt, '2025-01-01T00:00:00.000000');
    await members.setSoftDeletedAt(m.id, null);
    assert.equal((await members.find(r.id, u.id))?.softDeletedAt, null);
    await assert.rejects(members.setSoftDeletedAt(m.id, 'yesterday'), rejectsWith('invalid_argument'));
    await members.remove(m.id);
    assert.equal(await members.find(r.id, u.id), undefined);
    const rows = await ctx.db.query('SELECT id FROM members WHERE id = $1', [m.id]);
    assert.equal(rows.length, 0, 'remove deletes the row');
    await members.add({ roomId: r.id, userId: u.id, role: MemberRole.Attendee });
  });
}
