import type { ParticipantId, RoomId } from '../lib/ids.ts';

/**
 * Egress (experimental, EGRESS_ENABLED): a room's published tracks leave the server as live HLS, a
 * recording or a MoQ broadcast. An egress is one more subscriber of those tracks, started through
 * SfuApi like any room operation, so in a cluster it runs on the SFU node hosting the room.
 */

export type EgressKind = 'hls' | 'recording' | 'moq';

/** `ending`: stop asked, files being finalised; `ended`/`failed` are final (`reason` says why). */
export type EgressState = 'starting' | 'active' | 'ending' | 'ended' | 'failed';

export interface EgressRequest {
  roomId: RoomId;
  kind: EgressKind;
  /**
   * Whose tracks: one participant's (video + audio), or null for the whole room (every publisher as
   * its own rendition, or only `stageId` when set).
   */
  participantId: ParticipantId | null;
  /** Room egress: follow only this participant ("stage"). */
  stageId?: ParticipantId | null;
  /**
   * Simulcast layer to take (0 = lowest; VP9 SVC: the highest spatial layer kept); -1 or absent:
   * the highest the publisher sends.
   */
  layer?: number;
  /** Who asked, for logs and events: a participant id, or 'admin' for the API key. */
  requestedBy: string;
}

export interface EgressStopRequest {
  roomId: RoomId;
  egressId: string;
}

export interface EgressInfo {
  egressId: string;
  roomId: RoomId;
  kind: EgressKind;
  participantId: ParticipantId | null;
  state: EgressState;
  /** ms since the epoch. */
  startedAt: number;
  endedAt: number | null;
  /** Why it ended: 'stopped', 'participant_left', 'room_empty', 'shutdown', or the failure. */
  reason: string | null;
  /**
   * Where to watch or fetch it, relative to the egress HTTP root (`/egress/`): HLS: the master
   * playlist; recording: the files written so far; MoQ: the broadcast path on the MoQ endpoint.
   */
  playlist: string | null;
  files: string[];
  moqPath: string | null;
  /** The SFU node running it. */
  nodeId: string;
  /**
   * Absolute URL of the egress HTTP root (`…/egress/`) on that node when it has one of its own
   * (EGRESS_PUBLIC_URL, cluster nodes); null: the server the client talks to (embedded).
   */
  baseUrl: string | null;
}

/**
 * What a process's egress did since it started (`bbmeet_egress_*` metrics): counters only grow;
 * `active` counts egresses not yet ended, by kind.
 */
export interface EgressStats {
  active: Record<EgressKind, number>;
  /** HLS media segments written (complete segments, not LL-HLS parts). */
  segmentsWritten: number;
  /** Media bytes written: HLS init segments, parts and segments, recording files. */
  bytesWritten: number;
  /** Uploads to the bucket that failed after their retries. */
  uploadErrors: number;
  /** CPU seconds (user + system) of the transcoders (ffmpeg children), ended ones included. */
  transcodeCpuSeconds: number;
}

export function emptyEgressStats(): EgressStats {
  return {
    active: { hls: 0, recording: 0, moq: 0 },
    segmentsWritten: 0,
    bytesWritten: 0,
    uploadErrors: 0,
    transcodeCpuSeconds: 0,
  };
}

/** The sum of several processes' stats (a cluster's nodes). */
export function sumEgressStats(all: EgressStats[]): EgressStats {
  const sum = emptyEgressStats();
  for (const s of all) {
    for (const kind of ['hls', 'recording', 'moq'] as const) sum.active[kind] += s.active[kind];
    sum.segmentsWritten += s.segmentsWritten;
    sum.bytesWritten += s.bytesWritten;
    sum.uploadErrors += s.uploadErrors;
    sum.transcodeCpuSeconds += s.transcodeCpuSeconds;
  }
  return sum;
}

/** Waterbus `streamingProtocol` in `room.publish`: 0 none, 1 HLS, 2 MoQ. */
export function egressKindOfStreamingProtocol(value: number | undefined): EgressKind | null {
  if (value === 1) return 'hls';
  if (value === 2) return 'moq';
  return null;
}
