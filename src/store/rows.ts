import { UserId } from '../lib/ids.ts';
import { normalizeTimestamp } from './timestamps.ts';
import type { Member, Message, Participant, Room, Timestamp, User } from './types.ts';

/** Row → model mappers (snake_case columns to camelCase, timestamps to wire form). */

type Row = Record<string, unknown>;

const ts = (v: unknown): Timestamp => normalizeTimestamp(v) ?? '';
const tsOrNull = (v: unknown): Timestamp | null => normalizeTimestamp(v);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toUser(r: Row): User {
  return {
    id: UserId(Number(r.id)),
    fullName: str(r.full_name),
    userName: String(r.user_name),
    bio: str(r.bio),
    externalId: String(r.external_id),
    avatar: str(r.avatar),
    createdAt: ts(r.created_at),
    updatedAt: ts(r.updated_at),
    deletedAt: tsOrNull(r.deleted_at),
    lastSeenAt: tsOrNull(r.last_seen_at),
    tokenVersion: Number(r.token_version ?? 0),
  };
}

export function toRoom(r: Row): Room {
  return {
    id: Number(r.id),
    title: String(r.title),
    // Rows written by the original hold "" for "no password".
    passwordHash: str(r.password) || null,
    avatar: str(r.avatar),
    status: Number(r.status),
    latestMessageCreatedAt: tsOrNull(r.latest_message_created_at),
    code: String(r.code),
    createdAt: ts(r.created_at),
    updatedAt: ts(r.updated_at),
    deletedAt: tsOrNull(r.deleted_at),
    latestMessageId: num(r.latest_message_id),
    type: Number(r.type),
  };
}

export function toMember(r: Row): Member {
  return {
    id: Number(r.id),
    role: Number(r.role),
    createdAt: ts(r.created_at),
    deletedAt: tsOrNull(r.deleted_at),
    softDeletedAt: tsOrNull(r.soft_deleted_at),
    userId: UserId(Number(r.user_id)),
    roomId: Number(r.room_id),
  };
}

export function toParticipant(r: Row): Participant {
  return {
    id: Number(r.id),
    createdAt: ts(r.created_at),
    deletedAt: tsOrNull(r.deleted_at),
    userId: UserId(Number(r.user_id)),
    roomId: Number(r.room_id),
    nodeId: str(r.node_id),
    status: Number(r.status),
    attachedAt: tsOrNull(r.attached_at),
    hidden: Number(r.hidden ?? 0) === 1,
    metadata: str(r.metadata),
  };
}

export function toMessage(r: Row): Message {
  return {
    id: Number(r.id),
    data: String(r.data),
    createdAt: ts(r.created_at),
    updatedAt: ts(r.updated_at),
    deletedAt: tsOrNull(r.deleted_at),
    createdById: UserId(Number(r.created_by_id)),
    roomId: Number(r.room_id),
    type: Number(r.type),
    status: Number(r.status),
  };
}

/** `$1, $2, …` for an IN list starting at `from`. */
export function placeholders(count: number, from = 1): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}
