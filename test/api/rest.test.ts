import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UserId } from '../../src/lib/ids.ts';
import { type Api, type Json, login, type Session, startApi } from './harness.ts';
import { assertMessage, assertNoSecrets, assertRoomResponse, assertUser, memberRoles } from './shapes.ts';

const OWNER = 0;
/** Lets the clock move on, so that rows written next have later timestamps. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** The REST reply as the room's sockets get it: the author's externalId is for the author only. */
const asBroadcast = (reply: Json) => ({ ...reply, createdBy: { ...reply.createdBy, externalId: '' } });
const ATTENDEE = 1;

/** The Waterbus client flow over HTTP, one step per test, sharing the server and its state. */
describe('REST: Waterbus client flow', () => {
  let api: Api;
  let alice: Session;
  let bob: Session;
  let carol: Session;
  let open: Json; // room without password
  let locked: Json; // room with password
  let bobMessage: Json;

  before(async () => {
    api = await startApi();
  });
  after(() => api.close());

  it('answers the health check with the API key', async () => {
    const res = await api.call('GET', '/health-check');
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith('[v3] Waterbus Service'), res.text);
  });

  it('logs users in (201 AuthResponse) and returns the same user for the same external id', async () => {
    alice = await login(api, 'google-alice', 'Alice');
    bob = await login(api, 'google-bob', 'Bob');
    carol = await login(api, 'google-carol', 'Carol');
    for (const s of [alice, bob, carol]) assertUser(s.user);
    assert.equal(alice.user.fullName, 'Alice');
    assert.equal(alice.user.externalId, 'google-alice');
    assert.match(alice.user.userName, /^[a-z0-9]{12}$/);
    const again = await api.call('POST', '/auth', {
      body: { fullName: 'Other', externalId: 'google-alice' },
    });
    assert.equal(again.status, 201);
    assert.deepEqual(Object.keys(again.body).sort(), ['refreshToken', 'token', 'user']);
    assert.equal(again.body.user.id, alice.id);
  });

  it('refreshes tokens with the refresh token (200, user null) and the new access token works', async () => {
    const res = await api.call('GET', '/auth', { token: alice.refreshToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.user, null);
    assert.equal(typeof res.body.token, 'string');
    assert.equal(typeof res.body.refreshToken, 'string');
    const me = await api.call('GET', '/users', { token: res.body.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, alice.id);
  });

  it('reads and updates the profile', async () => {
    const me = await api.call('GET', '/users', { token: alice.token });
    assert.equal(me.status, 200);
    assertUser(me.body);
    const put = await api.call('PUT', '/users', {
      token: alice.token,
      body: { fullName: 'Alice A.', bio: 'hi', avatar: 'https://cdn/a.webp', extra: 'ignored' },
    });
    assert.equal(put.status, 200);
    assertUser(put.body);
    assert.deepEqual(
      [put.body.fullName, put.body.bio, put.body.avatar],
      ['Alice A.', 'hi', 'https://cdn/a.webp'],
    );
    const partial = await api.call('PUT', '/users', { token: alice.token, body: { fullName: 'Alice' } });
    assert.deepEqual([partial.body.fullName, partial.body.bio], ['Alice', 'hi']);
  });

  it('checks and changes user names (is_registered, 409 when taken)', async () => {
    const check = (name: string) => api.call('GET', `/users/username/${name}`, { token: bob.token });
    const mine = await check(alice.user.userName);
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body, { is_registered: true, isRegistered: true });
    assert.equal((await check('free_name.1')).body.is_registered, false);
    const set = await api.call('PUT', '/users/username/free_name.1', { token: alice.token, body: {} });
    assert.equal(set.status, 200);
    assert.equal(set.body.userName, 'free_name.1');
    assert.equal((await check('free_name.1')).body.is_registered, true);
    const taken = await api.call('PUT', '/users/username/free_name.1', { token: bob.token, body: {} });
    assert.equal(taken.status, 409);
    assert.deepEqual(Object.keys(taken.body), ['message']);
  });

  it('creates rooms (201): the caller is the host, no participants, type from room_type/roomType', async () => {
    const res = await api.call('POST', '/rooms', {
      token: alice.token,
      body: {
        title: 'Open room',
        room_type: 'Conferencing',
        streaming_protocol: 'SFU',
        code: null,
        avatar: null,
      },
    });
    assert.equal(res.status, 201);
    open = res.body;
    assertRoomResponse(open);
    assertNoSecrets(open);
    assert.match(open.code, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    assert.deepEqual([open.status, open.type, open.isProtected], [0, 0, false]);
    assert.deepEqual(memberRoles(open), [[alice.id, OWNER]]);
    assert.deepEqual([open.participants, open.latestMessage], [[], null]);
    const second = await api.call('POST', '/rooms', {
      token: alice.token,
      body: {
        title: 'Locked room',
        password: 'pw-123',
        roomType: 'LiveStreaming',
        streamingProtocol: 1,
        capacity: 5,
      },
    });
    assert.equal(second.status, 201);
    locked = second.body;
    assertNoSecrets(locked);
    assert.deepEqual([locked.type, locked.isProtected], [1, true]);
    assert.notEqual(locked.code, open.code);
    assert.equal((await api.store.rooms.findById(open.id))?.passwordHash, null, 'no password is NULL');
  });

  it('finds a room by code (members, all participants, no latest message)', async () => {
    const res = await api.call('GET', `/rooms/${open.code}`, { token: bob.token });
    assert.equal(res.status, 200);
    assertRoomResponse(res.body);
    assert.equal(res.body.id, open.id);
    assert.deepEqual(memberRoles(res.body), [[alice.id, OWNER]]);
    assert.equal(res.body.latestMessage, null);
  });

  it('lets anyone who opened a room by its code join it, non-members of a locked room with the password', async () => {
    const joined = await api.call('POST', `/rooms/${open.id}/join`, { token: bob.token, body: {} });
    assert.equal(joined.status, 201);
    assertRoomResponse(joined.body);
    assert.equal(joined.body.participants.length, 1);
    const participant = joined.body.participants[0];
    assert.deepEqual([participant.userId, participant.status, participant.user.id], [bob.id, 0, bob.id]);
    assert.ok(await api.store.participants.findById(participant.id), 'the participant row exists');
    await api.call('GET', `/rooms/${locked.code}`, { token: bob.token });
    const withPassword = await api.call('POST', `/rooms/${locked.id}/join`, {
      token: bob.token,
      body: { password: 'pw-123' },
    });
    assert.equal(withPassword.status, 201);
    const host = await api.call('POST', `/rooms/${locked.id}/join`, { token: alice.token, body: {} });
    assert.equal(host.status, 201, 'members skip the password');
  });

  it('returns publishing participants plus the new one on join', async () => {
    const bobRows = await api.store.participants.listByRoom(open.id);
    await api.store.participants.setNode(bobRows[0]!.id, 'node-1'); // bob publishes
    const idle = await api.call('POST', `/rooms/${open.id}/join`, { token: alice.token, body: {} });
    await api.call('GET', `/rooms/${open.code}`, { token: carol.token });
    const res = await api.call('POST', `/rooms/${open.id}/join`, { token: carol.token });
    assert.equal(res.status, 201);
    const ids = res.body.participants.map((p: Json) => p.userId);
    assert.deepEqual(ids, [bob.id, carol.id], 'alice joined but does not publish');
    assert.ok(!res.body.participants.some((p: Json) => p.id === idle.body.participants.at(-1).id));
  });

  it('lists the rooms the caller is a member of (joining makes no member)', async () => {
    const res = await api.call('GET', '/rooms?skip=0&limit=10', { token: alice.token });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['rooms']);
    for (const r of res.body.rooms) assertRoomResponse(r);
    assert.deepEqual(res.body.rooms.map((r: Json) => r.id).sort(), [open.id, locked.id].sort());
    const page = await api.call('GET', '/rooms?limit=1&skip=1', { token: alice.token });
    assert.equal(page.body.rooms.length, 1);
    const bobs = await api.call('GET', '/rooms', { token: bob.token });
    assert.deepEqual(bobs.body, { rooms: [] });
  });

  it('lets the host add members (201, integer or string id) and remove them', async () => {
    const add = await api.call('POST', `/rooms/${open.id}/members`, {
      token: alice.token,
      body: { userId: bob.id },
    });
    assert.equal(add.status, 201);
    assertRoomResponse(add.body);
    assert.deepEqual(memberRoles(add.body), [
      [alice.id, OWNER],
      [bob.id, ATTENDEE],
    ]);
    const again = await api.call('POST', `/rooms/${open.id}/members`, {
      token: alice.token,
      body: { userId: bob.id },
    });
    assert.deepEqual([again.status, again.body], [409, { message: 'User already in the room' }]);
    const carolAdd = await api.call('POST', `/rooms/${open.id}/members`, {
      token: alice.token,
      body: { userId: String(carol.id) },
    });
    assert.equal(carolAdd.status, 201);
    assert.equal(carolAdd.body.members.length, 3);
    const removed = await api.call('DELETE', `/rooms/${open.id}/members`, {
      token: alice.token,
      body: { userId: carol.id },
    });
    assert.equal(removed.status, 200);
    assert.deepEqual(
      memberRoles(removed.body).map(([id]) => id),
      [alice.id, bob.id],
    );
    const bobs = await api.call('GET', '/rooms', { token: bob.token });
    assert.deepEqual(
      bobs.body.rooms.map((r: Json) => r.id),
      [open.id],
    );
  });

  it('sends a chat message (201) and broadcasts chat.send with the MessageResponse', async () => {
    const before = api.broadcasts.length;
    const res = await api.call('POST', `/chats/${open.id}`, { token: bob.token, body: { data: 'hello' } });
    assert.equal(res.status, 201);
    bobMessage = res.body;
    assertMessage(bobMessage, { withRoom: true });
    assert.deepEqual(
      [bobMessage.data, bobMessage.type, bobMessage.status, bobMessage.createdById, bobMessage.roomId],
      ['hello', 0, 0, bob.id, open.id],
    );
    assert.equal(bobMessage.createdBy.id, bob.id);
    assert.equal(bobMessage.room.latestMessageId, bobMessage.id);
    assert.equal(api.broadcasts.length, before + 1);
    assert.deepEqual(api.broadcasts.at(-1), {
      roomId: String(open.id),
      event: 'chat.send',
      payload: asBroadcast(res.body),
    });
  });

  it('lets a joined non-member post too, and lists messages newest first with author and room', async () => {
    // Carol's removal above ended her access (rows and grant deleted): she opens the room and joins again.
    await api.call('GET', `/rooms/${open.code}`, { token: carol.token });
    const rejoined = await api.call('POST', `/rooms/${open.id}/join`, { token: carol.token, body: {} });
    assert.equal(rejoined.status, 201);
    await tick();
    const carols = await api.call('POST', `/chats/${open.id}`, {
      token: carol.token,
      body: { data: 'hi from carol' },
    });
    assert.equal(carols.status, 201, 'carol has a participant row in the room');
    const res = await api.call('GET', `/chats/${open.id}?skip=0&limit=10`, { token: alice.token });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['messages']);
    for (const m of res.body.messages) assertMessage(m, { withRoom: true });
    assert.deepEqual(
      res.body.messages.map((m: Json) => m.data),
      ['hi from carol', 'hello'],
    );
    const rooms = await api.call('GET', '/rooms', { token: alice.token });
    const listed = rooms.body.rooms.find((r: Json) => r.id === open.id);
    assert.equal(rooms.body.rooms[0].id, open.id, 'latest activity first');
    assert.equal(listed.latestMessage.data, 'hi from carol');
    assert.equal(listed.latestMessage.createdBy.id, carol.id);
  });

  it('updates a message (200) and broadcasts chat.update', async () => {
    const res = await api.call('PUT', `/chats/${bobMessage.id}`, {
      token: bob.token,
      body: { data: 'hello!' },
    });
    assert.equal(res.status, 200);
    assertMessage(res.body, { withRoom: true });
    assert.deepEqual([res.body.id, res.body.data, res.body.status], [bobMessage.id, 'hello!', 0]);
    assert.deepEqual(api.broadcasts.at(-1), {
      roomId: String(open.id),
      event: 'chat.update',
      payload: asBroadcast(res.body),
    });
  });

  it('deletes a message (200): status 1 is persisted and chat.delete broadcast', async () => {
    const res = await api.call('DELETE', `/chats/${bobMessage.id}`, { token: bob.token });
    assert.equal(res.status, 200);
    assertMessage(res.body, { withRoom: true });
    assert.equal(res.body.status, 1);
    assert.deepEqual(api.broadcasts.at(-1), {
      roomId: String(open.id),
      event: 'chat.delete',
      payload: asBroadcast(res.body),
    });
    assert.equal((await api.store.messages.findById(bobMessage.id))?.status, 1);
    const again = await api.call('DELETE', `/chats/${bobMessage.id}`, { token: bob.token });
    assert.equal(again.status, 409);
    const edit = await api.call('PUT', `/chats/${bobMessage.id}`, { token: bob.token, body: { data: 'x' } });
    assert.equal(edit.status, 409);
  });

  it('clears the history for one member only', async () => {
    const res = await api.call('DELETE', `/chats/conversations/${open.id}`, { token: bob.token });
    assert.equal(res.status, 200);
    assertRoomResponse(res.body);
    assert.deepEqual([res.body.members, res.body.participants], [[], []]);
    const bobs = await api.call('GET', `/chats/${open.id}`, { token: bob.token });
    assert.deepEqual(bobs.body, { messages: [] });
    const alices = await api.call('GET', `/chats/${open.id}`, { token: alice.token });
    assert.equal(alices.body.messages.length, 2);
    await tick();
    await api.call('POST', `/chats/${open.id}`, { token: alice.token, body: { data: 'after clear' } });
    const later = await api.call('GET', `/chats/${open.id}`, { token: bob.token });
    assert.deepEqual(
      later.body.messages.map((m: Json) => m.data),
      ['after clear'],
    );
  });

  it('lets a member leave (200, without the caller)', async () => {
    const res = await api.call('DELETE', `/rooms/${open.id}`, { token: bob.token });
    assert.equal(res.status, 200);
    assertRoomResponse(res.body);
    assert.deepEqual(memberRoles(res.body), [[alice.id, OWNER]]);
    assert.equal(await api.store.members.find(open.id, UserId(bob.id)), undefined);
  });

  it('lets the host update a room; an empty password opens it to everyone', async () => {
    const res = await api.call('PUT', `/rooms/${locked.id}`, {
      token: alice.token,
      body: { title: 'Renamed', password: '', room_type: 'Conferencing' },
    });
    assert.equal(res.status, 200);
    assertRoomResponse(res.body);
    assert.deepEqual([res.body.title, res.body.isProtected], ['Renamed', false]);
    await api.call('GET', `/rooms/${locked.code}`, { token: carol.token });
    const join = await api.call('POST', `/rooms/${locked.id}/join`, { token: carol.token, body: {} });
    assert.equal(join.status, 201);
  });

  it('deactivates a room (201, status 1): it moves to /rooms/inactive and cannot be joined', async () => {
    const res = await api.call('POST', `/rooms/${open.id}/deactivate`, { token: alice.token });
    assert.equal(res.status, 201);
    assertRoomResponse(res.body);
    assert.equal(res.body.status, 1);
    const active = await api.call('GET', '/rooms', { token: alice.token });
    assert.deepEqual(
      active.body.rooms.map((r: Json) => r.id),
      [locked.id],
    );
    const inactive = await api.call('GET', '/rooms/inactive', { token: alice.token });
    assert.equal(inactive.status, 200);
    assert.deepEqual(
      inactive.body.rooms.map((r: Json) => r.id),
      [open.id],
    );
    const join = await api.call('POST', `/rooms/${open.id}/join`, { token: bob.token, body: {} });
    assert.deepEqual([join.status, join.body], [409, { message: 'Room is not active' }]);
  });

  it('acknowledges logout with 204 and no body, even with a JSON content type and no body', async () => {
    const res = await api.call('DELETE', '/auth', {
      token: alice.token,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
  });
});
