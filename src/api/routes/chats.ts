import { z } from 'zod';
import { RoomId, type UserId } from '../../lib/ids.ts';
import { nowTimestamp, toTimestamp } from '../../store/timestamps.ts';
import { type Member, type Message, MessageStatus, MessageType, type Store } from '../../store/types.ts';
import { messageJson } from '../../store/wire.ts';
import type { ApiDeps } from '../deps.ts';
import { HttpError } from '../http-errors.ts';
import { messageViews, roomView } from '../room-views.ts';
import { type RouteDef, route } from '../route.ts';
import { pageQuery, pathId, requireUser, roomIdParams } from './common.ts';

export const NOT_IN_ROOM = 'You are not a member of this room';
export const NOT_AUTHOR = 'Forbidden: only the author can change this message';
export const MESSAGE_DELETED = 'Message has been deleted';
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** The chat payload is opaque to the server (the Flutter SDK sends AES-GCM ciphertext). */
const messageBody = z.object({
  data: z
    .string()
    .min(1)
    .max(MAX_MESSAGE_BYTES)
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_MESSAGE_BYTES, 'must be at most 64 KiB'),
});
const messageIdParams = z.object({ messageId: pathId });

async function requireConversation(store: Store, roomId: number) {
  const room = await store.rooms.findById(roomId);
  if (!room) throw new HttpError(404, `Conversation with ID ${roomId} not found`);
  return room;
}

const DEFAULT_RECONNECT_GRACE_MS = 30_000;

/**
 * Chat is for the room's current members and for users with a live participant in it (active, or
 * dropped less than the reconnect grace ago): 403 otherwise. A removed member's rows are deleted,
 * so nothing is left to grant access. Returns the membership, whose softDeletedAt hides older history.
 */
async function requireChatAccess(
  store: Store,
  roomId: number,
  userId: UserId,
  graceMs: number,
): Promise<Member | undefined> {
  const member = await store.members.find(roomId, userId);
  if (member) return member;
  const inactiveSince = toTimestamp(new Date(Date.now() - graceMs));
  if (await store.participants.findLive(roomId, userId, inactiveSince)) return undefined;
  throw new HttpError(403, NOT_IN_ROOM);
}

/** The caller's own, not yet deleted message. */
async function requireOwnMessage(store: Store, messageId: number, userId: UserId): Promise<Message> {
  const message = await store.messages.findById(messageId);
  if (!message) throw new HttpError(404, `Message with ID ${messageId} not found`);
  if (message.createdById !== userId) throw new HttpError(403, NOT_AUTHOR);
  if (message.status === MessageStatus.Inactive) throw new HttpError(409, MESSAGE_DELETED);
  return message;
}

export function chatRoutes(deps: ApiDeps): RouteDef[] {
  const { store, broadcaster } = deps;
  const graceMs = deps.reconnectGraceMs ?? DEFAULT_RECONNECT_GRACE_MS;

  /**
   * MessageResponse with author and (re-read) room, sent to the room's sockets as `event` (built for
   * no viewer: it goes to several users) and returned as built for the caller.
   */
  async function announce(
    message: Message,
    event: 'chat.send' | 'chat.update' | 'chat.delete',
    caller: UserId,
  ) {
    const [createdBy, room] = await Promise.all([
      store.users.findById(message.createdById),
      store.rooms.findById(message.roomId),
    ]);
    broadcaster.toRoom(
      RoomId(message.roomId),
      event,
      messageJson(message, { createdBy, room }, { viewerId: null }),
    );
    return messageJson(message, { createdBy, room }, { viewerId: caller });
  }

  return [
    route({
      method: 'GET',
      path: '/chats/:roomId',
      auth: 'access',
      tag: 'chats',
      summary: 'Messages of a room, newest first (members and participants only)',
      params: roomIdParams,
      query: pageQuery,
      async handler({ userId, params, query }) {
        const room = await requireConversation(store, params.roomId);
        const member = await requireChatAccess(store, room.id, userId, graceMs);
        const after = member?.softDeletedAt ?? null;
        const messages = await store.messages.listByRoom(room.id, { ...query, after });
        return { messages: await messageViews(store, messages, room, { viewerId: userId }) };
      },
    }),
    route({
      method: 'POST',
      path: '/chats/:roomId',
      auth: 'access',
      tag: 'chats',
      summary: 'Send a message (emits chat.send to the room)',
      params: roomIdParams,
      body: messageBody,
      successStatus: 201,
      async handler({ userId, params, body }) {
        const room = await requireConversation(store, params.roomId);
        await requireChatAccess(store, room.id, userId, graceMs);
        await requireUser(store, userId);
        const message = await store.messages.create({
          roomId: room.id,
          createdById: userId,
          data: body.data,
          type: MessageType.Default,
        });
        return announce(message, 'chat.send', userId);
      },
    }),
    route({
      method: 'PUT',
      path: '/chats/:messageId',
      auth: 'access',
      tag: 'chats',
      summary: 'Edit one of your messages (emits chat.update)',
      params: messageIdParams,
      body: messageBody,
      async handler({ userId, params, body }) {
        const message = await requireOwnMessage(store, params.messageId, userId);
        const updated = await store.messages.update(message.id, { data: body.data });
        return announce(updated ?? message, 'chat.update', userId);
      },
    }),
    route({
      method: 'DELETE',
      path: '/chats/:messageId',
      auth: 'access',
      tag: 'chats',
      summary: 'Delete one of your messages: status becomes 1 (emits chat.delete)',
      params: messageIdParams,
      async handler({ userId, params }) {
        const message = await requireOwnMessage(store, params.messageId, userId);
        const deleted = await store.messages.markDeleted(message.id);
        return announce(deleted ?? message, 'chat.delete', userId);
      },
    }),
    route({
      method: 'DELETE',
      path: '/chats/conversations/:roomId',
      auth: 'access',
      tag: 'chats',
      summary: "Clear the room's history for the caller (messages before now are hidden)",
      params: roomIdParams,
      async handler({ userId, params }) {
        const room = await requireConversation(store, params.roomId);
        const member = await store.members.find(room.id, userId);
        if (!member) throw new HttpError(404, 'Member not found');
        await store.members.setSoftDeletedAt(member.id, nowTimestamp());
        return roomView(store, room, { members: [], participants: [] }, { viewerId: userId });
      },
    }),
  ];
}
