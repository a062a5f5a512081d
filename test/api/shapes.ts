import assert from 'node:assert/strict';
import type { Json } from './harness.ts';

/** The JSON shapes of the protocol reference (section 2.2): every key must be present. */

export const USER_KEYS = [
  'id',
  'fullName',
  'userName',
  'bio',
  'externalId',
  'avatar',
  'createdAt',
  'updatedAt',
  'deletedAt',
  'lastSeenAt',
];
export const ROOM_KEYS = [
  'id',
  'title',
  'avatar',
  'status',
  'latestMessageCreatedAt',
  'code',
  'createdAt',
  'updatedAt',
  'deletedAt',
  'latestMessageId',
  'type',
];
const MEMBER_KEYS = ['id', 'role', 'createdAt', 'deletedAt', 'softDeletedAt', 'userId', 'roomId', 'user'];
const PARTICIPANT_KEYS = ['id', 'createdAt', 'deletedAt', 'userId', 'roomId', 'status', 'user'];
const MESSAGE_KEYS = [
  'id',
  'data',
  'createdAt',
  'updatedAt',
  'deletedAt',
  'createdById',
  'roomId',
  'type',
  'status',
  'createdBy',
  'room',
];
const SECRET_KEYS = ['password', 'passwordHash', 'password_hash', 'nodeId', 'node_id'];

/** `2025-07-23T12:00:00.123456`: UTC without offset, as Waterbus clients parse it. */
export const WIRE_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

function hasKeys(value: Json, keys: string[], what: string): void {
  assert.ok(value && typeof value === 'object', `${what} is an object`);
  for (const key of keys) assert.ok(key in value, `${what} has ${key}: ${JSON.stringify(value)}`);
}

/** No password hash or SFU node id anywhere in a reply. */
export function assertNoSecrets(value: unknown, path = 'reply'): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertNoSecrets(v, `${path}[${i}]`);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      assert.ok(!SECRET_KEYS.includes(k), `${path}.${k} must not be sent`);
      assertNoSecrets(v, `${path}.${k}`);
    }
  }
}

export function assertUser(u: Json): void {
  hasKeys(u, USER_KEYS, 'user');
  assert.equal(typeof u.id, 'number');
  assert.equal(typeof u.fullName, 'string');
  assert.match(u.createdAt, WIRE_TIMESTAMP);
}

export function assertRoom(r: Json): void {
  hasKeys(r, ROOM_KEYS, 'room');
  assert.equal(typeof r.title, 'string');
  assert.match(r.createdAt, WIRE_TIMESTAMP);
  assertNoSecrets(r);
}

export function assertMessage(m: Json, opts: { withRoom?: boolean } = {}): void {
  hasKeys(m, MESSAGE_KEYS, 'message');
  assert.match(m.createdAt, WIRE_TIMESTAMP);
  assert.match(m.updatedAt, WIRE_TIMESTAMP);
  assertUser(m.createdBy);
  if (opts.withRoom) assertRoom(m.room);
}

export function assertRoomResponse(r: Json): void {
  assertRoom(r);
  hasKeys(r, ['members', 'participants', 'latestMessage'], 'RoomResponse');
  for (const m of r.members) {
    hasKeys(m, MEMBER_KEYS, 'member');
    assertUser(m.user);
    assert.equal(m.roomId, r.id);
  }
  for (const p of r.participants) {
    hasKeys(p, PARTICIPANT_KEYS, 'participant');
    assertUser(p.user);
    assert.equal(p.roomId, r.id);
  }
  if (r.latestMessage !== null) assertMessage(r.latestMessage);
}

export function memberRoles(r: Json): Array<[number, number]> {
  return r.members.map((m: Json) => [m.userId, m.role]).sort((a: number[], b: number[]) => a[0]! - b[0]!);
}
