import type { ParticipantId, RoomId } from '../lib/ids.ts';

/** Which media an operator mutes: at least one is true. */
export interface MuteKinds {
  audio: boolean;
  video: boolean;
}

/**
 * An operator's actions on one participant (the admin REST routes, docs/admin.md), carried out by
 * whichever signalling instance holds the participant's socket (in a cluster the request goes to
 * every instance). Signalling implements it; nothing happens for a participant nobody holds.
 */
export interface ParticipantControl {
  /**
   * The SFU stops forwarding the kinds (until the participant turns them back on), and the room,
   * the participant included, gets `room.audio_enabled` / `room.video_enabled` `isEnabled: false`.
   */
  mute(roomId: RoomId, participantId: ParticipantId, kinds: MuteKinds): void;
  /**
   * Takes the participant out of the room as an eviction does: its socket gets `system.error`
   * (`room.removed`), its media closes, the room gets `room.participant_left`, its row is deleted.
   */
  remove(roomId: RoomId, participantId: ParticipantId, reason: 'removed' | 'ended'): void;
}
