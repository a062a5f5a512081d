import type { ParticipantId, RoomId, UserId } from '../lib/ids.ts';

/** Why a user's sockets are taken out of a room (the `system.error` message tells which). */
export type EvictionReason = 'removed' | 'left' | 'replaced' | 'ended';

/**
 * Sends a socket event to every socket of a room, from code that is not signalling (the REST chat
 * routes emit `chat.*`). Signalling implements it; in a cluster it reaches every signalling instance.
 */
export interface RoomBroadcaster {
  toRoom(roomId: RoomId, event: string, payload: unknown): void;
  /**
   * Takes the user's live participants in the room out of it, on whichever signalling instance
   * holds them: each socket is told (`system.error`, code `permission_denied`), its media is
   * closed and the room gets `room.participant_left`. `keep` is spared (a join's new participant).
   */
  evictUser(roomId: RoomId, userId: UserId, reason: EvictionReason, keep?: ParticipantId): void;
  /**
   * Disconnects every socket of the user, on every signalling instance (a logout revoked its
   * tokens). `reason` is logged, not sent.
   */
  disconnectUser(userId: UserId, reason: string): void;
}
