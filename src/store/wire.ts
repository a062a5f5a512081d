import type { UserId } from '../lib/ids.ts';
import type { Member, Message, Participant, Room, User } from './types.ts';

/**
 * The JSON shapes Waterbus clients parse (camelCase, as the original's serde output). Internal
 * columns (password hash, node id, token version) never leave through here.
 */

/**
 * Whom a view is built for. A user's externalId is what the Waterbus login trusts, so it is shown
 * to that user only and as "" to everyone else (the key stays: clients parse it). `viewerId: null`
 * is for payloads sent to several users at once (socket broadcasts): nobody's is shown.
 */
export interface Viewer {
  viewerId: UserId | null;
}

export function userJson(u: User, viewer: Viewer) {
  return {
    id: u.id,
    // The Flutter SDK requires a non-null fullName; fall back to the user name.
    fullName: u.fullName ?? u.userName,
    userName: u.userName,
    bio: u.bio,
    externalId: viewer.viewerId === u.id ? u.externalId : '',
    avatar: u.avatar,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
    deletedAt: u.deletedAt,
    lastSeenAt: u.lastSeenAt,
  };
}

export function roomJson(r: Room) {
  return {
    id: r.id,
    title: r.title,
    avatar: r.avatar,
    status: r.status,
    latestMessageCreatedAt: r.latestMessageCreatedAt,
    code: r.code,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    deletedAt: r.deletedAt,
    latestMessageId: r.latestMessageId,
    type: r.type,
    // Newer clients show a lock for protected rooms (Waterbus live-streaming branch).
    isProtected: r.passwordHash !== null,
  };
}

export function memberJson(m: Member, user: User | undefined, viewer: Viewer) {
  return {
    id: m.id,
    role: m.role,
    createdAt: m.createdAt,
    deletedAt: m.deletedAt,
    softDeletedAt: m.softDeletedAt,
    userId: m.userId,
    roomId: m.roomId,
    user: user ? userJson(user, viewer) : null,
  };
}

export function participantJson(p: Participant, user: User | undefined, viewer: Viewer) {
  return {
    id: p.id,
    createdAt: p.createdAt,
    deletedAt: p.deletedAt,
    userId: p.userId,
    roomId: p.roomId,
    status: p.status,
    user: user ? userJson(user, viewer) : null,
  };
}

export function messageJson(
  m: Message,
  related: { createdBy?: User | undefined; room?: Room | undefined },
  viewer: Viewer,
) {
  return {
    id: m.id,
    data: m.data,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    deletedAt: m.deletedAt,
    createdById: m.createdById,
    roomId: m.roomId,
    type: m.type,
    status: m.status,
    createdBy: related.createdBy ? userJson(related.createdBy, viewer) : null,
    room: related.room ? roomJson(related.room) : null,
  };
}

export type UserJson = ReturnType<typeof userJson>;
export type RoomJson = ReturnType<typeof roomJson>;
export type MemberJson = ReturnType<typeof memberJson>;
export type ParticipantJson = ReturnType<typeof participantJson>;
export type MessageJson = ReturnType<typeof messageJson>;

export interface RoomResponseJson extends RoomJson {
  members: MemberJson[];
  participants: ParticipantJson[];
  latestMessage: MessageJson | null;
}

export function roomResponseJson(
  room: Room,
  parts: { members: MemberJson[]; participants: ParticipantJson[]; latestMessage: MessageJson | null },
): RoomResponseJson {
  return { ...roomJson(room), ...parts };
}
