import type { UserId } from '../lib/ids.ts';

/**
 * Timestamps cross the store boundary as wire-format strings: ISO-8601 in UTC *without* an offset
 * and with microseconds, e.g. `2025-07-23T12:00:00.123000` (what Waterbus clients parse).
 */
export type Timestamp = string;

export const RoomStatus = { Active: 0, Inactive: 1 } as const;
export const RoomType = { Conferencing: 0, LiveStreaming: 1 } as const;
export const MemberRole = { Owner: 0, Attendee: 1 } as const;
export const MessageType = { Default: 0, System: 1 } as const;
export const MessageStatus = { Active: 0, Inactive: 1 } as const;
export const ParticipantStatus = { Active: 0, Inactive: 1 } as const;

export interface User {
  id: UserId;
  fullName: string | null;
  userName: string;
  bio: string | null;
  externalId: string;
  avatar: string | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  deletedAt: Timestamp | null;
  lastSeenAt: Timestamp | null;
  /** Tokens carry it (claim `tv`); a token of another version is revoked. Never serialised. */
  tokenVersion: number;
}

export interface Room {
  id: number;
  title: string;
  /** scrypt hash (`scrypt$…`), or null when the room has no password. Never serialised. */
  passwordHash: string | null;
  avatar: string | null;
  status: number;
  latestMessageCreatedAt: Timestamp | null;
  code: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  deletedAt: Timestamp | null;
  latestMessageId: number | null;
  type: number;
}

export interface Member {
  id: number;
  role: number;
  createdAt: Timestamp;
  deletedAt: Timestamp | null;
  softDeletedAt: Timestamp | null;
  userId: UserId;
  roomId: number;
}

export interface Participant {
  id: number;
  createdAt: Timestamp;
  deletedAt: Timestamp | null;
  userId: UserId;
  roomId: number;
  /** SFU node hosting the participant's media, null until it publishes. Never serialised. */
  nodeId: string | null;
  status: number;
  /** When a socket first took this participant; null while none has. Never serialised. */
  attachedAt: Timestamp | null;
  /** Joined with a join token's `hidden` grant: shown to its own user only. Never serialised. */
  hidden: boolean;
  /** An operator's metadata (a JSON string, docs/admin.md); null until set. Never serialised. */
  metadata: string | null;
}

/** A room with live (active) participants, and the SFU nodes they publish on. */
export interface LiveRoom {
  roomId: number;
  participants: number;
  nodeIds: string[];
}

export interface Message {
  id: number;
  data: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  deletedAt: Timestamp | null;
  createdById: UserId;
  roomId: number;
  type: number;
  status: number;
}

export interface Page {
  skip: number;
  limit: number;
}

export interface UserRepository {
  findById(id: UserId): Promise<User | undefined>;
  findByExternalId(externalId: string): Promise<User | undefined>;
  findManyByIds(ids: readonly UserId[]): Promise<User[]>;
  create(input: { fullName: string | null; externalId: string; userName: string }): Promise<User>;
  /** Updates the given fields; returns undefined if the user does not exist. */
  update(
    id: UserId,
    input: { fullName: string; avatar?: string | null; bio?: string | null },
  ): Promise<User | undefined>;
  isUserNameTaken(userName: string): Promise<boolean>;
  /** Throws SfuError('already_exists') when another user has that name. */
  setUserName(id: UserId, userName: string): Promise<User | undefined>;
  touchLastSeen(id: UserId): Promise<void>;
  /**
   * Increments the user's token version, which revokes every access and refresh token issued
   * before; returns the new version, or undefined if the user does not exist.
   */
  revokeTokens(id: UserId): Promise<number | undefined>;
}

export interface RoomRepository {
  /** Throws SfuError('already_exists') when the code is taken. */
  create(input: {
    title: string;
    passwordHash: string | null;
    avatar: string | null;
    code: string;
    type: number;
  }): Promise<Room>;
  findById(id: number): Promise<Room | undefined>;
  findByCode(code: string): Promise<Room | undefined>;
  codeExists(code: string): Promise<boolean>;
  update(
    id: number,
    input: { title?: string; passwordHash?: string | null; avatar?: string | null },
  ): Promise<Room | undefined>;
  setStatus(id: number, status: number): Promise<Room | undefined>;
  /**
   * Rooms of the given status where the user is a member, most recent activity first
   * (latestMessageCreatedAt, then createdAt, then id, all descending). Rooms with equal
   * timestamps are all kept (the original collapsed them).
   */
  listForMember(userId: UserId, status: number, page: Page): Promise<Room[]>;
}

export interface MemberRepository {
  /** Throws SfuError('already_exists') when the user is already a member. */
  add(input: { roomId: number; userId: UserId; role: number }): Promise<Member>;
  find(roomId: number, userId: UserId): Promise<Member | undefined>;
  listByRoom(roomId: number): Promise<Member[]>;
  remove(memberId: number): Promise<void>;
  setSoftDeletedAt(memberId: number, at: Timestamp | null): Promise<void>;
}

export interface ParticipantRepository {
  /** `hidden`: a join token's grant (default false), see Participant.hidden. */
  create(input: { roomId: number; userId: UserId; hidden?: boolean }): Promise<Participant>;
  findById(id: number): Promise<Participant | undefined>;
  /** All rows of a room, or only those currently publishing (nodeId not null). */
  listByRoom(roomId: number, options?: { publishingOnly?: boolean }): Promise<Participant[]>;
  setNode(id: number, nodeId: string | null): Promise<void>;
  setStatus(id: number, status: number): Promise<void>;
  delete(id: number): Promise<void>;
  /** Removes the participants hosted on a node that died; returns how many were removed. */
  deleteByNode(nodeId: string): Promise<number>;
  /** Removes inactive rows last changed before `before`; returns how many were removed. */
  deleteInactiveBefore(before: Timestamp): Promise<number>;
  countActive(): Promise<number>;
  /**
   * Deletes the user's participant rows in the room (all but `exceptId` when given); returns the
   * ids deleted.
   */
  deleteForUser(roomId: number, userId: UserId, options?: { exceptId?: number }): Promise<number[]>;
  /** Records that a socket took the participant (the first time only). */
  markAttached(id: number): Promise<void>;
  /** Removes rows no socket ever took, created before `before`; returns how many were removed. */
  deleteNeverAttachedBefore(before: Timestamp): Promise<number>;
  /**
   * The user's newest participant in the room that is live: active, or inactive since
   * `inactiveSince` or later (a dropped connection still within the reconnect grace).
   */
  findLive(roomId: number, userId: UserId, inactiveSince: Timestamp): Promise<Participant | undefined>;
  setMetadata(id: number, metadata: string | null): Promise<void>;
  /** Rooms with active participants, most participants first (at most `limit`). */
  listLiveRooms(limit: number): Promise<LiveRoom[]>;
}

/** Who has shown they know a room's code (opened it by its code): they may join it. */
export interface RoomGrantRepository {
  /** Records the grant; a grant that already exists is kept as it is. */
  add(roomId: number, userId: UserId): Promise<void>;
  exists(roomId: number, userId: UserId): Promise<boolean>;
  remove(roomId: number, userId: UserId): Promise<void>;
}

export interface MessageRepository {
  /** Inserts the message and makes it the room's latest message, atomically. */
  create(input: { roomId: number; createdById: UserId; data: string; type: number }): Promise<Message>;
  findById(id: number): Promise<Message | undefined>;
  /** Updates the text and bumps the room's latestMessageCreatedAt. */
  update(id: number, input: { data: string }): Promise<Message | undefined>;
  /** Marks the message deleted (status Inactive, deletedAt set); the row stays for history. */
  markDeleted(id: number): Promise<Message | undefined>;
  /** Newest first; only messages created strictly after `after` when given. */
  listByRoom(roomId: number, options: Page & { after?: Timestamp | null }): Promise<Message[]>;
  findManyByIds(ids: readonly number[]): Promise<Message[]>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly users: UserRepository;
  readonly rooms: RoomRepository;
  readonly members: MemberRepository;
  readonly participants: ParticipantRepository;
  readonly messages: MessageRepository;
  readonly grants: RoomGrantRepository;
  /** Runs `fn` in one transaction; the store passed to `fn` must be used for every query inside. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  /** Cheap round trip to the database, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
