import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { ParticipantInspection, RoomInspection, TrackInspection } from '../protocol/sfu-api.ts';
import type { RoomPart } from './media/room-inspection.ts';

/**
 * Assembles SfuApi.inspectRoom from what each media worker holds of the room: a publisher's
 * tracks come from its home worker, who receives them from the workers of its subscribers.
 */
export function assembleInspection(
  roomId: RoomId,
  nodeId: string,
  parts: readonly RoomPart[],
): RoomInspection {
  const participants = new Map<ParticipantId, ParticipantInspection>();
  const entry = (participantId: ParticipantId) => {
    let p = participants.get(participantId);
    if (!p) {
      p = { participantId, tracks: [], bitrateInBps: 0, bitrateOutBps: 0, bytesIn: 0, bytesOut: 0 };
      participants.set(participantId, p);
    }
    return p;
  };
  const tracks = new Map<string, TrackInspection>();
  for (const part of parts)
    for (const publisher of part.publishers) {
      const p = entry(publisher.participantId);
      p.bytesIn += publisher.bytesIn;
      for (const track of publisher.tracks) {
        const full: TrackInspection = { ...track, subscribers: [] };
        p.tracks.push(full);
        p.bitrateInBps += track.bitrateBps;
        tracks.set(`${publisher.participantId}/${track.trackId}`, full);
      }
    }
  for (const part of parts)
    for (const subscriber of part.subscribers) {
      const p = entry(subscriber.participantId);
      p.bytesOut += subscriber.bytesOut;
      for (const r of subscriber.receptions) {
        p.bitrateOutBps += r.bitrateBps;
        tracks.get(`${r.targetId}/${r.trackId}`)?.subscribers.push({
          participantId: subscriber.participantId,
          spatial: r.spatial,
          temporal: r.temporal,
        });
      }
    }
  return {
    roomId,
    nodeId: parts[0]?.nodeId ?? nodeId,
    participants: [...participants.values()].sort(
      (a, b) => Number(a.participantId) - Number(b.participantId),
    ),
  };
}
