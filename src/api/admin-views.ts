import type { ParticipantInspection, RoomInspection, TrackInspection } from '../protocol/sfu-api.ts';
import { type LiveRoom, type Participant, ParticipantStatus, type Room, type User } from '../store/types.ts';

/** The JSON the admin routes answer (docs/admin.md). */

export interface AdminRoomView {
  id: number;
  code: string;
  title: string;
  /** Active participants (rows with status active). */
  participants: number;
  /** The SFU node hosting the room's media; null while nobody publishes. */
  nodeId: string | null;
}

export function adminRoomView(room: Room, live: LiveRoom | undefined): AdminRoomView {
  return {
    id: room.id,
    code: room.code,
    title: room.title,
    participants: live?.participants ?? 0,
    nodeId: live?.nodeIds[0] ?? null,
  };
}

export interface AdminParticipantView {
  /** The participantId of the socket events (a string, as the SFU names it). */
  id: string;
  userId: number | null;
  name: string | null;
  /** `active`, `inactive` (dropped, within the reconnect grace), or `media` (the SFU only: a WHEP viewer). */
  status: 'active' | 'inactive' | 'media';
  hidden: boolean;
  metadata: string | null;
  nodeId: string | null;
  tracks: TrackInspection[];
  bitrateInBps: number;
  bitrateOutBps: number;
  bytesIn: number;
  bytesOut: number;
}

const NO_MEDIA = { tracks: [], bitrateInBps: 0, bitrateOutBps: 0, bytesIn: 0, bytesOut: 0 };

function mediaOf(p: ParticipantInspection | undefined) {
  if (!p) return NO_MEDIA;
  const { tracks, bitrateInBps, bitrateOutBps, bytesIn, bytesOut } = p;
  return { tracks, bitrateInBps, bitrateOutBps, bytesIn, bytesOut };
}

/** The room's rows joined with what the SFU holds of them; media-only participants last. */
export function adminParticipantViews(
  rows: readonly Participant[],
  users: ReadonlyMap<number, User>,
  inspection: RoomInspection,
): AdminParticipantView[] {
  const media = new Map(inspection.participants.map((p) => [String(p.participantId), p]));
  const views: AdminParticipantView[] = rows.map((row) => ({
    id: String(row.id),
    userId: row.userId,
    name: users.get(row.userId)?.fullName ?? null,
    status: row.status === ParticipantStatus.Active ? 'active' : 'inactive',
    hidden: row.hidden,
    metadata: row.metadata,
    nodeId: row.nodeId,
    ...mediaOf(media.get(String(row.id))),
  }));
  const known = new Set(views.map((v) => v.id));
  for (const p of inspection.participants) {
    if (known.has(String(p.participantId))) continue;
    views.push({
      id: String(p.participantId),
      userId: null,
      name: null,
      status: 'media',
      hidden: false,
      metadata: null,
      nodeId: inspection.nodeId || null,
      ...mediaOf(p),
    });
  }
  return views;
}
