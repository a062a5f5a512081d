import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Fixture, makers, rejectsWith } from './store-suite-fixture.ts';
import { MemberRole, MessageStatus, ParticipantStatus, RoomStatus } from './types.ts';

/** Participants and messages. */
export function activityTests(ctx: Fixture): void {
  const { user, room } = makers(ctx);

  it('participants: create, node, status, sweep of inactive rows, delete, count', async () => {
    const { participants } = ctx.store;
    const [u, r] = [await user(), await room()];
    const activeBefore = await participants.countActive();
    const p = await participants.create({ roomId: r.id, userId: u.id });
    const q = await participants.create({ roomId: r.id, userId: u.id });
    assert.deepEqual([p.status, p.nodeId, p.deletedAt], [ParticipantStatus.Active, null, null]);
    assert.deepEqual(await participants.findById(p.id), p);
    assert.equal(await participants.findById(999_999), undefined);
    assert.equal(await participants.countActive(), activeBefore + 2);
    await participants.setNode(p.id, 'node-a');
    const publishing = await participants.listByRoom(r.id, { publishingOnly: true });
    assert.deepEqual(
      publishing.map((x) => [x.id, x.nodeId]),
      [[p.id, 'node-a']],
    );
    assert.deepEqual(
      (await participants.listByRoom(r.id)).map((x) => x.id),
      [p.id, q.id],
    );
    await participants.setStatus(q.id, ParticipantStatus.Inactive);
    assert.equal((await participants.findById(q.id))?.deletedAt, ctx.clock.now(), 'inactive since');
    assert.equal(await participants.countActive(), activeBefore + 1);
    await participants.setStatus(q.id, ParticipantStatus.Active);
    assert.equal((await participants.findById(q.id))?.deletedAt, null, 'back: no longer inactive');
    await participants.setStatus(q.id, ParticipantStatus.Inactive);
    assert.equal(await participants.deleteInactiveBefore(ctx.clock.now()), 0, 'not strictly before');
    ctx.clock.advance(1);
    assert.equal(await participants.deleteInactiveBefore(ctx.clock.now()), 1);
    assert.equal(await participants.findById(q.id), undefined);
    assert.equal(await participants.deleteByNode('node-b'), 0);
    assert.equal(await participants.deleteByNode('node-a'), 1);
    assert.equal(await participants.findById(p.id), undefined);
    const s = await participants.create({ roomId: r.id, userId: u.id });
    await participants.setNode(s.id, 'node-c');
    await participants.setNode(s.id, null);
    assert.equal((await participants.findById(s.id))?.nodeId, null);
    await participants.delete(s.id);
    assert.equal(await participants.findById(s.id), undefined);
  });

  it('participants: setMetadata stores it; listLiveRooms counts active rows per room with their nodes', async () => {
    const { participants } = ctx.store;
    const [u, r, other] = [await user(), await room(), await room()];
    const p = await participants.create({ roomId: r.id, userId: u.id });
    const q = await participants.create({ roomId: r.id, userId: u.id });
    const gone = await participants.create({ roomId: other.id, userId: u.id });
    assert.equal(p.metadata, null);
    await participants.setMetadata(p.id, '{"seat":3}');
    assert.equal((await participants.findById(p.id))?.metadata, '{"seat":3}');
    await participants.setNode(p.id, 'node-a');
    await participants.setStatus(gone.id, ParticipantStatus.Inactive);
    const live = (await participants.listLiveRooms(100)).filter(
      (x) => x.roomId === r.id || x.roomId === other.id,
    );
    assert.deepEqual(live, [{ roomId: r.id, participants: 2, nodeIds: ['node-a'] }]);
    await participants.setMetadata(p.id, null);
    assert.equal((await participants.findById(p.id))?.metadata, null);
    for (const x of [p, q, gone]) await participants.delete(x.id);
  });

  it('messages: create makes the latest message, update, markDeleted persists', async () => {
    const { messages, rooms } = ctx.store;
    const [u, r] = [await user(), await room()];
    ctx.clock.advance(1000);
    const m1 = await messages.create({ roomId: r.id, createdById: u.id, data: 'one', type: 0 });
    ctx.clock.advance(1000);
    const m2 = await messages.create({ roomId: r.id, createdById: u.id, data: 'two', type: 1 });
    assert.deepEqual([m2.data, m2.type, m2.status, m2.createdById], ['two', 1, MessageStatus.Active, u.id]);
    const latest = await rooms.findById(r.id);
    assert.deepEqual(
      [latest?.latestMessageId, latest?.latestMessageCreatedAt, latest?.updatedAt],
      [m2.id, m2.createdAt, m2.createdAt],
    );
    ctx.clock.advance(1000);
    const edited = await messages.update(m1.id, { data: 'uno' });
    assert.deepEqual(
      [edited?.data, edited?.updatedAt, edited?.createdAt],
      ['uno', ctx.clock.now(), m1.createdAt],
    );
    assert.equal((await rooms.findById(r.id))?.latestMessageCreatedAt, ctx.clock.now(), 'an edit bumps');
    assert.equal(await messages.update(999_999, { data: 'x' }), undefined);
    ctx.clock.advance(1000);
    const deleted = await messages.markDeleted(m1.id);
    assert.deepEqual([deleted?.status, deleted?.deletedAt], [MessageStatus.Inactive, ctx.clock.now()]);
    const stored = await messages.findById(m1.id);
    assert.deepEqual([stored?.status, stored?.deletedAt], [MessageStatus.Inactive, ctx.clock.now()]);
    assert.equal(await messages.markDeleted(999_999), undefined);
    assert.equal(await messages.findById(999_999), undefined);
    const both = await messages.findManyByIds([m2.id, m1.id, m2.id]);
    assert.deepEqual(both.map((m) => m.id).sort(), [m1.id, m2.id].sort());
    assert.deepEqual(await messages.findManyByIds([]), []);
  });
}

/** The listings and their order, pagination and filters. */
export function listingTests(ctx: Fixture): void {
  const { user, room } = makers(ctx);
  const page = (skip: number, limit: number) => ({ skip, limit });

  it('rooms: listForMember orders by latest activity, keeps equal times, paginates', async () => {
    const { rooms, members, messages } = ctx.store;
    const u = await user();
    const made = [];
    for (let i = 0; i < 5; i++) {
      // Rooms 0–2 share one creation time; 3 and 4 are newer.
      if (i >= 3) ctx.clock.advance(1000);
      const r = await room();
      await members.add({ roomId: r.id, userId: u.id, role: MemberRole.Attendee });
      made.push(r.id);
    }
    ctx.clock.advance(1000);
    await messages.create({ roomId: made[1]!, createdById: u.id, data: 'x', type: 0 });
    const ids = (await rooms.listForMember(u.id, RoomStatus.Active, page(0, 50))).map((r) => r.id);
    const [r0, r1, r2, r3, r4] = made;
    assert.deepEqual(ids, [r1, r4, r3, r2, r0], 'newest message, then creation time, then id');
    const pages = [];
    for (let skip = 0; skip < 5; skip += 2) {
      pages.push(...(await rooms.listForMember(u.id, RoomStatus.Active, page(skip, 2))));
    }
    assert.deepEqual(
      pages.map((r) => r.id),
      ids,
      'pages neither repeat nor skip rooms with equal times',
    );
    await rooms.setStatus(r0!, RoomStatus.Inactive);
    const inactive = await rooms.listForMember(u.id, RoomStatus.Inactive, page(0, 50));
    assert.deepEqual(
      inactive.map((r) => r.id),
      [r0],
    );
  });

  it('rooms: listForMember lists a room once and only for live memberships', async () => {
    const { rooms, members } = ctx.store;
    const [u, stranger, r, left] = [await user(), await user(), await room(), await room()];
    await members.add({ roomId: r.id, userId: u.id, role: MemberRole.Owner });
    // An old membership (deleted_at set) beside the live one, as the original's soft deletes left.
    await ctx.db.run(
      'INSERT INTO members (room_id, user_id, role, created_at, deleted_at) VALUES ($1, $2, 1, $3, $3)',
      [r.id, u.id, ctx.clock.now()],
    );
    await ctx.db.run(
      'INSERT INTO members (room_id, user_id, role, created_at, deleted_at) VALUES ($1, $2, 1, $3, $3)',
      [left.id, u.id, ctx.clock.now()],
    );
    const listed = await rooms.listForMember(u.id, RoomStatus.Active, page(0, 50));
    assert.deepEqual(
      listed.map((x) => x.id),
      [r.id],
    );
    assert.deepEqual(await rooms.listForMember(stranger.id, RoomStatus.Active, page(0, 50)), []);
  });

  it('messages: listByRoom is newest first, paginates, and `after` is strict', async () => {
    const { messages } = ctx.store;
    const [u, r] = [await user(), await room()];
    const made = [];
    for (let i = 0; i < 4; i++) {
      if (i !== 2) ctx.clock.advance(1000); // messages 1 and 2 share a timestamp
      made.push(await messages.create({ roomId: r.id, createdById: u.id, data: String(i), type: 0 }));
    }
    const [m0, m1, m2, m3] = made.map((m) => m.id);
    const all = await messages.listByRoom(r.id, page(0, 10));
    assert.deepEqual(
      all.map((m) => m.id),
      [m3, m2, m1, m0],
    );
    const second = await messages.listByRoom(r.id, page(1, 2));
    assert.deepEqual(
      second.map((m) => m.id),
      [m2, m1],
    );
    const newer = await messages.listByRoom(r.id, { ...page(0, 10), after: made[1]!.createdAt });
    assert.deepEqual(
      newer.map((m) => m.id),
      [m3],
    );
    const none = await messages.listByRoom(r.id, { ...page(0, 10), after: null });
    assert.equal(none.length, 4, 'after: null lists everything');
    await assert.rejects(
      messages.listByRoom(r.id, { ...page(0, 10), after: 'garbage' }),
      rejectsWith('invalid_argument'),
    );
  });
}
