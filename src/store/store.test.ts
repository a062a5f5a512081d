import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.ts';
import { isSfuError } from '../lib/errors.ts';
import { UserId } from '../lib/ids.ts';
import { openStore } from './index.ts';
import { migrate } from './migrations.ts';
import { SqliteDb } from './sqlite-db.ts';
import { MemberRole, MessageStatus, ParticipantStatus, RoomStatus, type Store } from './types.ts';

/** One suite, run against every database the server supports. */
function storeSuite(name: string, open: () => Promise<Store>) {
  describe(`store on ${name}`, () => {
    let store: Store;
    let n = 0;
    const unique = (p: string) => `${p}${++n}`;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    const user = () =>
      store.users.create({ fullName: 'Ada', externalId: unique('ext-'), userName: unique('user') });
    const room = (password: string | null = null) =>
      store.rooms.create({
        title: 'Room',
        passwordHash: password,
        avatar: null,
        code: unique('code-'),
        type: 0,
      });

    it('users: create, find, update, user names', async () => {
      const u = await user();
      assert.equal((await store.users.findById(u.id))?.externalId, u.externalId);
      assert.equal((await store.users.findByExternalId(u.externalId))?.id, u.id);
      assert.equal(await store.users.findById(UserId(999_999)), undefined);
      const updated = await store.users.update(u.id, { fullName: 'Ada L.', bio: 'math' });
      assert.equal(updated?.fullName, 'Ada L.');
      assert.equal(updated?.bio, 'math');
      assert.equal(updated?.avatar, null, 'fields not given are kept');
      assert.ok(updated && updated.updatedAt >= u.updatedAt);
      assert.equal(await store.users.isUserNameTaken(u.userName), true);
      const renamed = await store.users.setUserName(u.id, unique('renamed'));
      assert.equal(await store.users.isUserNameTaken(renamed!.userName), true);
      const other = await user();
      await assert.rejects(
        store.users.setUserName(other.id, renamed!.userName),
        (e) => isSfuError(e) && e.code === 'already_exists',
      );
      await assert.rejects(
        store.users.create({ fullName: null, externalId: u.externalId, userName: unique('x') }),
        (e) => isSfuError(e) && e.code === 'already_exists',
      );
      const many = await store.users.findManyByIds([u.id, other.id, u.id]);
      assert.deepEqual(many.map((x) => x.id).sort(), [u.id, other.id].sort());
      await store.users.touchLastSeen(u.id);
      assert.notEqual((await store.users.findById(u.id))?.lastSeenAt, null);
    });

    it('timestamps come back in the wire form', async () => {
      const u = await user();
      assert.match(u.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    });

    it('rooms: create with and without password, find, update, status, unique code', async () => {
      const r = await room();
      assert.equal(r.passwordHash, null, 'no password is stored as NULL, never ""');
      assert.equal(r.status, RoomStatus.Active);
      assert.equal((await store.rooms.findByCode(r.code))?.id, r.id);
      assert.equal(await store.rooms.codeExists(r.code), true);
      await assert.rejects(
        store.rooms.create({ title: 'dup', passwordHash: null, avatar: null, code: r.code, type: 0 }),
        (e) => isSfuError(e) && e.code === 'already_exists',
      );
      const updated = await store.rooms.update(r.id, { title: 'New', passwordHash: 'scrypt$x' });
      assert.equal(updated?.title, 'New');
      assert.equal(updated?.passwordHash, 'scrypt$x');
      const cleared = await store.rooms.update(r.id, { passwordHash: null });
      assert.equal(cleared?.passwordHash, null);
      assert.equal(cleared?.title, 'New');
      assert.equal((await store.rooms.setStatus(r.id, RoomStatus.Inactive))?.status, RoomStatus.Inactive);
      assert.equal(await store.rooms.update(999_999, { title: 'x' }), undefined);
    });

    it('rooms: listForMember orders by latest activity, keeps equal timestamps, paginates', async () => {
      const u = await user();
      const rooms = [];
      for (let i = 0; i < 4; i++) {
        const r = await room();
        await store.members.add({ roomId: r.id, userId: u.id, role: MemberRole.Attendee });
        rooms.push(r);
      }
      // Timestamps have millisecond resolution: make the message strictly newer than the rooms.
      await new Promise((resolve) => setTimeout(resolve, 3));
      await store.messages.create({ roomId: rooms[1]!.id, createdById: u.id, data: 'x', type: 0 });
      const listed = await store.rooms.listForMember(u.id, RoomStatus.Active, { skip: 0, limit: 10 });
      assert.equal(listed.length, 4, 'no room collapses');
      assert.equal(listed[0]!.id, rooms[1]!.id, 'the room with the newest message first');
      const page = await store.rooms.listForMember(u.id, RoomStatus.Active, { skip: 1, limit: 2 });
      assert.deepEqual(
        page.map((r) => r.id),
        listed.slice(1, 3).map((r) => r.id),
      );
      await store.rooms.setStatus(rooms[0]!.id, RoomStatus.Inactive);
      assert.deepEqual(
        (await store.rooms.listForMember(u.id, RoomStatus.Inactive, { skip: 0, limit: 10 })).map((r) => r.id),
        [rooms[0]!.id],
      );
      const stranger = await user();
      assert.deepEqual(
        await store.rooms.listForMember(stranger.id, RoomStatus.Active, { skip: 0, limit: 10 }),
        [],
      );
    });

    it('members: add, find, list, duplicate, soft delete, remove', async () => {
      const [u, v, r] = [await user(), await user(), await room()];
      const m = await store.members.add({ roomId: r.id, userId: u.id, role: MemberRole.Owner });
      await store.members.add({ roomId: r.id, userId: v.id, role: MemberRole.Attendee });
      await assert.rejects(
        store.members.add({ roomId: r.id, userId: u.id, role: 1 }),
        (e) => isSfuError(e) && e.code === 'already_exists',
      );
      assert.equal((await store.members.find(r.id, u.id))?.role, MemberRole.Owner);
      assert.deepEqual(
        (await store.members.listByRoom(r.id)).map((x) => x.userId),
        [u.id, v.id],
      );
      await store.members.setSoftDeletedAt(m.id, '2025-01-01T00:00:00.000000');
      assert.equal((await store.members.find(r.id, u.id))?.softDeletedAt, '2025-01-01T00:00:00.000000');
      await store.members.remove(m.id);
      assert.equal(await store.members.find(r.id, u.id), undefined);
    });

    it('participants: create, node, status, sweep of inactive rows, delete by node', async () => {
      const [u, r] = [await user(), await room()];
      const p = await store.participants.create({ roomId: r.id, userId: u.id });
      const q = await store.participants.create({ roomId: r.id, userId: u.id });
      assert.equal(p.status, ParticipantStatus.Active);
      assert.equal(p.nodeId, null);
      await store.participants.setNode(p.id, 'node-a');
      assert.deepEqual(
        (await store.participants.listByRoom(r.id, { publishingOnly: true })).map((x) => x.id),
        [p.id],
      );
      assert.deepEqual(
        (await store.participants.listByRoom(r.id)).map((x) => x.id),
        [p.id, q.id],
      );
      await store.participants.setStatus(q.id, ParticipantStatus.Inactive);
      assert.equal(
        await store.participants.deleteInactiveBefore('2000-01-01T00:00:00.000000'),
        0,
        'not yet past the grace period',
      );
      assert.equal(await store.participants.deleteInactiveBefore('2999-01-01T00:00:00.000000'), 1);
      assert.equal(await store.participants.findById(q.id), undefined);
      assert.equal(await store.participants.deleteByNode('node-a'), 1);
      assert.equal(await store.participants.findById(p.id), undefined);
    });

    it('messages: create updates the room, update, markDeleted persists, listing', async () => {
      const [u, r] = [await user(), await room()];
      const m1 = await store.messages.create({ roomId: r.id, createdById: u.id, data: 'one', type: 0 });
      const m2 = await store.messages.create({ roomId: r.id, createdById: u.id, data: 'two', type: 0 });
      const after = await store.rooms.findById(r.id);
      assert.equal(after?.latestMessageId, m2.id);
      assert.equal(after?.latestMessageCreatedAt, m2.createdAt);
      assert.equal((await store.messages.update(m1.id, { data: 'uno' }))?.data, 'uno');
      const deleted = await store.messages.markDeleted(m1.id);
      assert.equal(deleted?.status, MessageStatus.Inactive);
      assert.equal(
        (await store.messages.findById(m1.id))?.status,
        MessageStatus.Inactive,
        'the delete is persisted',
      );
      assert.notEqual((await store.messages.findById(m1.id))?.deletedAt, null);
      const listed = await store.messages.listByRoom(r.id, { skip: 0, limit: 10 });
      assert.deepEqual(
        listed.map((m) => m.id),
        [m2.id, m1.id],
        'newest first, deleted kept',
      );
      assert.deepEqual(
        (await store.messages.listByRoom(r.id, { skip: 0, limit: 10, after: m1.createdAt })).map((m) => m.id),
        m2.createdAt > m1.createdAt ? [m2.id] : [],
      );
      assert.deepEqual((await store.messages.findManyByIds([m1.id, m2.id])).length, 2);
    });

    it('transaction: a failure rolls everything back', async () => {
      const externalId = unique('tx-');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.users.create({ fullName: null, externalId, userName: unique('tx') });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.users.findByExternalId(externalId), undefined);
    });

    it('concurrent transactions do not interleave', async () => {
      const r = await room();
      const u = await user();
      const tasks = Array.from({ length: 5 }, (_, i) =>
        store.transaction(async (tx) => {
          const before = (await tx.messages.listByRoom(r.id, { skip: 0, limit: 100 })).length;
          await new Promise((resolve) => setTimeout(resolve, 5));
          await tx.messages.create({ roomId: r.id, createdById: u.id, data: String(i), type: 0 });
          return before;
        }),
      );
      const seen = await Promise.all(tasks);
      if (store.dialect === 'sqlite')
        assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4], 'each saw the previous commits');
      assert.equal((await store.messages.listByRoom(r.id, { skip: 0, limit: 100 })).length, 5);
    });

    it('deleting a room cascades to its members, participants and messages', async () => {
      const [u, r] = [await user(), await room()];
      await store.members.add({ roomId: r.id, userId: u.id, role: 0 });
      const p = await store.participants.create({ roomId: r.id, userId: u.id });
      const m = await store.messages.create({ roomId: r.id, createdById: u.id, data: 'x', type: 0 });
      // There is no room deletion in the API; exercise the foreign keys directly.
      await deleteRoomRow(store, r.id);
      assert.equal(await store.members.find(r.id, u.id), undefined);
      assert.equal(await store.participants.findById(p.id), undefined);
      assert.equal(await store.messages.findById(m.id), undefined);
    });

    it('ping() answers', async () => {
      await store.ping();
    });
  });
}

/** Reaches the Db under the store for the cascade test (not part of the Store API). */
async function deleteRoomRow(store: Store, roomId: number) {
  const db = (store as unknown as { __db?: { run(sql: string, p: unknown[]): Promise<unknown> } }).__db;
  assert.ok(db, 'test store exposes its Db');
  await db.run('DELETE FROM rooms WHERE id = $1', [roomId]);
}

storeSuite('SQLite (embedded)', () => openStore({ sqlitePath: ':memory:' }));

describe('PostgreSQL', () => {
  let postgres: TestPostgres;
  before(async () => {
    postgres = await startPostgres();
  });
  after(async () => {
    await postgres?.stop();
  });
  storeSuite('PostgreSQL 15', async () => openStore({ url: await postgres.createDatabase('store') }));

  it('two processes migrating the same database at once apply each migration once', async () => {
    const url = await postgres.createDatabase('race');
    const stores = await Promise.all([openStore({ url }), openStore({ url }), openStore({ url })]);
    for (const s of stores) await s.close();
  });
});

describe('migrations', () => {
  it('running them again is a no-op', async () => {
    const db = new SqliteDb(':memory:');
    assert.deepEqual(await migrate(db), [1]);
    assert.deepEqual(await migrate(db), []);
    await db.close();
  });
});
