import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Fixture, startFixture } from './fixture.ts';
import { BODY_LIMIT } from './harness.ts';

/**
 * Every rejected request answers `{message}` with the right status and changes nothing (store
 * snapshot and broadcasts compared before and after).
 */
describe('REST: rejected requests change nothing', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.api.close());

  it('400 naming the field for malformed bodies', async () => {
    const t = f.alice.token;
    await f.rejected('POST', '/auth', { body: { fullName: 'x' } }, 400, /^body\.externalId: /);
    await f.rejected('POST', '/rooms', { token: t, body: {} }, 400, /^body\.title: /);
    await f.rejected('POST', '/rooms', { token: t, body: { title: 5 } }, 400, /^body\.title: /);
    await f.rejected(
      'POST',
      '/rooms',
      { token: t, body: { title: 'x', room_type: 'Webinar' } },
      400,
      /^body\.room_type: /,
    );
    await f.rejected(
      'POST',
      '/rooms',
      { token: t, body: { title: 'x', room_type: 0 } },
      400,
      /^body\.room_type: /,
    );
    await f.rejected(
      'POST',
      '/rooms',
      { token: t, body: { title: 'x', roomType: 7 } },
      400,
      /^body\.roomType: /,
    );
    await f.rejected(
      'POST',
      '/rooms',
      { token: t, body: { title: 'x', streamingProtocol: 'RTMP' } },
      400,
      /streamingProtocol/,
    );
    await f.rejected(
      'POST',
      '/rooms',
      { token: t, body: { title: 'x', capacity: -1 } },
      400,
      /^body\.capacity: /,
    );
    await f.rejected('POST', '/rooms', { token: t, rawBody: '{"title": ' }, 400, /JSON/i);
    await f.rejected('POST', '/rooms', { token: t, body: ['title'] }, 400, /^body: /);
    await f.rejected('PUT', `/rooms/${f.open.id}`, { token: t, body: { title: '' } }, 400, /^body\.title: /);
    await f.rejected('PUT', '/users', { token: t, body: { bio: 'x' } }, 400, /^body\.fullName: /);
    await f.rejected('POST', `/chats/${f.open.id}`, { token: t, body: { data: '' } }, 400, /^body\.data: /);
    await f.rejected('POST', `/chats/${f.open.id}`, { token: t, body: { data: 5 } }, 400, /^body\.data: /);
    await f.rejected('PUT', `/chats/${f.aliceMessage.id}`, { token: t, body: {} }, 400, /^body\.data: /);
    const members = `/rooms/${f.open.id}/members`;
    await f.rejected('POST', members, { token: t, body: { userId: 'x' } }, 400, /^body\.userId: /);
    await f.rejected('POST', members, { token: t, body: { userId: true } }, 400, /^body\.userId: /);
    await f.rejected('DELETE', members, { token: t, body: { userId: 0 } }, 400, /^body\.userId: /);
    await f.rejected(
      'POST',
      `/rooms/${f.locked.id}/join`,
      { token: f.carol.token, body: { password: 5 } },
      400,
      /password/,
    );
  });

  it('400 naming the param or query field for malformed paths and queries', async () => {
    const t = f.alice.token;
    await f.rejected('PUT', '/rooms/abc', { token: t, body: { title: 'x' } }, 400, /^params\.roomId: /);
    await f.rejected('POST', '/rooms/0/join', { token: t, body: {} }, 400, /^params\.roomId: /);
    await f.rejected('POST', '/rooms/-1/deactivate', { token: t }, 400, /^params\.roomId: /);
    await f.rejected('DELETE', '/rooms/1.5', { token: t }, 400, /^params\.roomId: /);
    await f.rejected('POST', '/rooms/99999999999/join', { token: t, body: {} }, 400, /^params\.roomId: /);
    await f.rejected('PUT', '/chats/x', { token: t, body: { data: 'x' } }, 400, /^params\.messageId: /);
    await f.rejected('GET', '/rooms?limit=1000', { token: t }, 400, /^query\.limit: /);
    await f.rejected('GET', '/rooms/inactive?skip=-1', { token: t }, 400, /^query\.skip: /);
    await f.rejected('GET', `/chats/${f.open.id}?limit=abc`, { token: t }, 400, /^query\.limit: /);
    await f.rejected('GET', '/users/username/ab', { token: t }, 400, /^params\.userName: /);
    await f.rejected('PUT', '/users/username/bad%20name', { token: t, body: {} }, 400, /^params\.userName: /);
  });

  it('403 for non-hosts, checked before revealing anything about other users', async () => {
    const host = 'Only the host has permission';
    await f.rejected(
      'PUT',
      `/rooms/${f.open.id}`,
      { token: f.bob.token, body: { title: 'mine' } },
      403,
      host,
    );
    await f.rejected(
      'PUT',
      `/rooms/${f.open.id}`,
      { token: f.carol.token, body: { title: 'mine' } },
      403,
      host,
    );
    await f.rejected('POST', `/rooms/${f.open.id}/deactivate`, { token: f.bob.token }, 403, host);
    const members = `/rooms/${f.open.id}/members`;
    await f.rejected('POST', members, { token: f.bob.token, body: { userId: f.carol.id } }, 403, host);
    await f.rejected('POST', members, { token: f.carol.token, body: { userId: f.alice.id } }, 403, host); // not 409
    await f.rejected('DELETE', members, { token: f.bob.token, body: { userId: f.alice.id } }, 403, host);
    await f.rejected(
      'DELETE',
      `/rooms/${f.open.id}`,
      { token: f.alice.token },
      403,
      'Host not allowed to leave the room',
    );
  });

  it('404/409 for missing rooms, members and duplicates', async () => {
    const t = f.alice.token;
    await f.rejected(
      'GET',
      '/rooms/zzz-zzzz-zzz',
      { token: t },
      404,
      'Room with Code zzz-zzzz-zzz not found',
    );
    await f.rejected(
      'PUT',
      '/rooms/4242',
      { token: t, body: { title: 'x' } },
      404,
      'Room with ID 4242 not found',
    );
    await f.rejected('POST', '/rooms/4242/join', { token: t, body: {} }, 404, 'Room with ID 4242 not found');
    await f.rejected(
      'POST',
      `/rooms/${f.open.id}/deactivate`,
      { token: f.carol.token },
      404,
      'Member not found',
    );
    await f.rejected('DELETE', `/rooms/${f.open.id}`, { token: f.carol.token }, 404, 'Member not found');
    const members = `/rooms/${f.open.id}/members`;
    await f.rejected('DELETE', members, { token: t, body: { userId: f.carol.id } }, 404, 'Member not found');
    await f.rejected(
      'POST',
      members,
      { token: t, body: { userId: 4242 } },
      404,
      'User with ID 4242 not found',
    );
    await f.rejected(
      'POST',
      members,
      { token: t, body: { userId: f.bob.id } },
      409,
      'User already in the room',
    );
    await f.rejected('GET', '/chats/4242', { token: t }, 404, 'Conversation with ID 4242 not found');
    await f.rejected(
      'PUT',
      '/chats/4242',
      { token: t, body: { data: 'x' } },
      404,
      'Message with ID 4242 not found',
    );
    await f.rejected(
      'DELETE',
      `/chats/conversations/${f.open.id}`,
      { token: f.carol.token },
      404,
      'Member not found',
    );
  });

  it('403 for chat outside the room and for editing or deleting messages of others', async () => {
    await f.rejected(
      'GET',
      `/chats/${f.open.id}`,
      { token: f.carol.token },
      403,
      'You are not a member of this room',
    );
    await f.rejected(
      'POST',
      `/chats/${f.open.id}`,
      { token: f.carol.token, body: { data: 'x' } },
      403,
      /not a member/,
    );
    await f.rejected(
      'POST',
      `/chats/${f.locked.id}`,
      { token: f.bob.token, body: { data: 'x' } },
      403,
      /not a member/,
    );
    await f.rejected(
      'PUT',
      `/chats/${f.aliceMessage.id}`,
      { token: f.bob.token, body: { data: 'x' } },
      403,
      /author/,
    );
    await f.rejected('DELETE', `/chats/${f.aliceMessage.id}`, { token: f.bob.token }, 403, /author/);
  });

  it('413 for bodies over the server limit; 400 for a message over 64 KiB', async () => {
    const huge = { data: 'x'.repeat(BODY_LIMIT + 1) };
    await f.rejected('POST', `/chats/${f.open.id}`, { token: f.bob.token, body: huge }, 413, /too large/i);
    const big = { data: 'é'.repeat(33 * 1024) }; // 33 Ki characters, 66 KiB of UTF-8
    await f.rejected('POST', `/chats/${f.open.id}`, { token: f.bob.token, body: big }, 400, /^body\.data: /);
  });

  it('404 text for unknown routes under /busapi/v3', async () => {
    const res = await f.api.call('GET', '/nope', { token: f.alice.token });
    assert.equal(res.status, 404);
    assert.equal(res.text, '[v3] Waterbus Not Found');
  });
});
