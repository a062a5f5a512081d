import type { ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { type BackupSection, defaultMediaState, type JoinRequest } from '../../src/protocol/sfu-api.ts';

/** A first join (two tracks expected, the default media state), with its backup sections if any. */
export function joinRequest(
  roomId: RoomId,
  participantId: ParticipantId,
  sdp: string,
  backupSections?: BackupSection[],
): JoinRequest {
  return {
    roomId,
    participantId,
    sdp,
    totalTracks: 2,
    mediaState: defaultMediaState(),
    isMigrate: false,
    ...(backupSections ? { backupSections } : {}),
  };
}
