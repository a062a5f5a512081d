import type { UserId } from '../lib/ids.ts';
import type { Member, Message, Participant, Room, Store, User } from '../store/types.ts';
import {
  type MessageJson,
  memberJson,
  messageJson,
  participantJson,
  type RoomResponseJson,
  roomResponseJson,
  type Viewer,
} from '../store/wire.ts';

/**
 * Builds the RoomResponse / MessageResponse JSON of the REST API. Users are fetched in one batch
 * per response (findManyByIds), never one query per row. Every view is built for a `Viewer`: only
 * the viewer's own externalId is shown.
 */

export interface RoomParts {
  members: readonly Member[];
  participants: readonly Participant[];
  latestMessage?: Message | undefined;
}

type UserMap = ReadonlyMap<number, User>;

async function loadUsers(store: Store, ids: Iterable<UserId>): Promise<UserMap> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const users = await store.users.findManyByIds(unique);
  return new Map(users.map((u) => [u.id as number, u]));
}

function userIdsOf(parts: RoomParts): UserId[] {
  const ids = [...parts.members.map((m) => m.userId), ...parts.participants.map((p) => p.userId)];
  if (parts.latestMessage) ids.push(parts.latestMessage.createdById);
  return ids;
}

/** A hidden participant (join token grant) is shown to its own user only. */
function visibleTo(p: Participant, viewer: Viewer): boolean {
  return !p.hidden || p.userId === viewer.viewerId;
}

function assemble(room: Room, parts: RoomParts, users: UserMap, viewer: Viewer): RoomResponseJson {
  const latest = parts.latestMessage;
  const participants = parts.participants.filter((p) => visibleTo(p, viewer));
  return roomResponseJson(room, {
    members: parts.members.map((m) => memberJson(m, users.get(m.userId), viewer)),
    participants: participants.map((p) => participantJson(p, users.get(p.userId), viewer)),
    latestMessage: latest ? messageJson(latest, { createdBy: users.get(latest.createdById) }, viewer) : null,
  });
}

/** A RoomResponse from the given rows. */
export async function roomView(
  store: Store,
  room: Room,
  parts: RoomParts,
  viewer: Viewer,
): Promise<RoomResponseJson> {
  return assemble(room, parts, await loadUsers(store, userIdsOf(parts)), viewer);
}

/**
 * The RoomResponse most routes answer with, as Waterbus' get_room_by_id: every member and every
 * participant row, latestMessage null.
 */
export async function fullRoomView(store: Store, room: Room, viewer: Viewer): Promise<RoomResponseJson> {
  const [members, participants] = await Promise.all([
    store.members.listByRoom(room.id),
    store.participants.listByRoom(room.id),
  ]);
  return roomView(store, room, { members, participants }, viewer);
}

/** The `{rooms}` list: members, participants and the latest message with its author, per room. */
export async function roomListView(
  store: Store,
  rooms: readonly Room[],
  viewer: Viewer,
): Promise<RoomResponseJson[]> {
  const messageIds = rooms.flatMap((r) => (r.latestMessageId === null ? [] : [r.latestMessageId]));
  const [rows, messages] = await Promise.all([
    Promise.all(
      rooms.map(async (room) => ({
        members: await store.members.listByRoom(room.id),
        participants: await store.participants.listByRoom(room.id),
      })),
    ),
    messageIds.length > 0 ? store.messages.findManyByIds(messageIds) : Promise.resolve([]),
  ]);
  const byId = new Map(messages.map((m) => [m.id, m]));
  const parts: RoomParts[] = rooms.map((room, i) => ({
    members: rows[i]?.members ?? [],
    participants: rows[i]?.participants ?? [],
    latestMessage: room.latestMessageId === null ? undefined : byId.get(room.latestMessageId),
  }));
  const users = await loadUsers(store, parts.flatMap(userIdsOf));
  return rooms.map((room, i) => assemble(room, parts[i] as RoomParts, users, viewer));
}

/** MessageResponses of one room, with their authors (one user query) and the room. */
export async function messageViews(
  store: Store,
  messages: readonly Message[],
  room: Room,
  viewer: Viewer,
): Promise<MessageJson[]> {
  const users = await loadUsers(
    store,
    messages.map((m) => m.createdById),
  );
  return messages.map((m) => messageJson(m, { createdBy: users.get(m.createdById), room }, viewer));
}
