import type { ChatMessage, MessageJson } from './types.ts';

/** A chat message as the SDK gives it (`isLocal`: sent by the user `localUserId`). */
export function toChatMessage(m: MessageJson, localUserId: number | null | undefined): ChatMessage {
  return {
    id: m.id,
    text: m.data,
    senderUserId: m.createdById,
    senderName: m.createdBy?.fullName ?? m.createdBy?.userName ?? `User ${m.createdById}`,
    createdAt: m.createdAt,
    isLocal: m.createdById === localUserId,
  };
}
