import type { RoomId, UserId } from '../lib/ids.ts';

/**
 * Sends a socket event to every socket of a room, from code that is not signalling (the REST chat
 * routes emit `chat.*`). Signalling implements it; in a cluster it reaches every signalling instance.
 */
export interface RoomBroadcaster {
  toRoom(roomId: RoomId, event: string, payload: unknown): void;
  /**
   * Disconnects every socket of the user, on every signalling instance (a logout revoked its
   * tokens). `reason` is logged, not sent.
   */
  disconnectUser(userId: UserId, reason: string): void;
}
