import { create } from '@bufbuild/protobuf';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import type {
  EgressInfo,
  EgressKind,
  EgressRequest,
  EgressState,
  EgressStats,
  EgressStopRequest,
} from '../protocol/egress.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import { id, invalid, reverse, uint64 } from './proto-fields.ts';

// Conversions of the egress operations (protocol/egress.ts) to and from sfu.proto, with the same
// rule as the other conversions (convert.ts): `*FromProto` validates what came over the network, `*ToProto` trusts its input.

const KIND: Record<EgressKind, pb.EgressKind> = {
  hls: pb.EgressKind.HLS,
  recording: pb.EgressKind.RECORDING,
  moq: pb.EgressKind.MOQ,
};

const STATE: Record<EgressState, pb.EgressState> = {
  starting: pb.EgressState.STARTING,
  active: pb.EgressState.ACTIVE,
  ending: pb.EgressState.ENDING,
  ended: pb.EgressState.ENDED,
  failed: pb.EgressState.FAILED,
};

const KIND_OF = reverse(KIND);
const STATE_OF = reverse(STATE);
/** Highest simulcast layer index a request may name (layers are 0-2 in practice). */
const MAX_LAYER = 15;
/** Reasons, paths and URLs are short texts; anything longer is not what a node sends. */
const MAX_TEXT_CHARS = 2048;
const MAX_FILES = 1024;

function text(value: string, field: string): string {
  if (value.length > MAX_TEXT_CHARS) throw invalid(`${field} is longer than ${MAX_TEXT_CHARS} characters`);
  return value;
}

function optionalText(value: string | undefined, field: string): string | null {
  return value === undefined ? null : text(value, field);
}

function kindFromProto(value: pb.EgressKind): EgressKind {
  const kind = KIND_OF.get(value);
  if (!kind) throw invalid('kind must be HLS, RECORDING or MOQ');
  return kind;
}

export function egressRequestToProto(r: EgressRequest): pb.StartEgressRequest {
  return create(pb.StartEgressRequestSchema, {
    roomId: r.roomId,
    kind: KIND[r.kind],
    participantId: r.participantId ?? undefined,
    stageId: r.stageId ?? undefined,
    layer: r.layer,
    requestedBy: r.requestedBy,
  });
}

export function egressRequestFromProto(m: pb.StartEgressRequest): EgressRequest {
  if (m.layer !== undefined && (m.layer < -1 || m.layer > MAX_LAYER))
    throw invalid(`layer must be -1 to ${MAX_LAYER}`);
  return {
    roomId: RoomId(id(m.roomId, 'room_id')),
    kind: kindFromProto(m.kind),
    participantId:
      m.participantId === undefined ? null : ParticipantId(id(m.participantId, 'participant_id')),
    ...(m.stageId === undefined ? {} : { stageId: ParticipantId(id(m.stageId, 'stage_id')) }),
    ...(m.layer === undefined ? {} : { layer: m.layer }),
    requestedBy: id(m.requestedBy, 'requested_by'),
  };
}

export function egressStopToProto(r: EgressStopRequest): pb.StopEgressRequest {
  return create(pb.StopEgressRequestSchema, { roomId: r.roomId, egressId: r.egressId });
}

export function egressStopFromProto(m: pb.StopEgressRequest): EgressStopRequest {
  return { roomId: RoomId(id(m.roomId, 'room_id')), egressId: id(m.egressId, 'egress_id') };
}

export function egressInfoToProto(e: EgressInfo): pb.EgressInfo {
  return create(pb.EgressInfoSchema, {
    egressId: e.egressId,
    roomId: e.roomId,
    kind: KIND[e.kind],
    participantId: e.participantId ?? undefined,
    state: STATE[e.state],
    startedAtMs: uint64(e.startedAt),
    endedAtMs: e.endedAt === null ? undefined : uint64(e.endedAt),
    reason: e.reason ?? undefined,
    playlist: e.playlist ?? undefined,
    files: e.files,
    moqPath: e.moqPath ?? undefined,
    nodeId: e.nodeId,
    baseUrl: e.baseUrl ?? undefined,
  });
}

export function egressInfoFromProto(m: pb.EgressInfo): EgressInfo {
  const state = STATE_OF.get(m.state);
  if (!state) throw invalid('egress state is missing or unknown');
  if (m.files.length > MAX_FILES) throw invalid(`files lists more than ${MAX_FILES} entries`);
  return {
    egressId: id(m.egressId, 'egress_id'),
    roomId: RoomId(id(m.roomId, 'room_id')),
    kind: kindFromProto(m.kind),
    participantId:
      m.participantId === undefined ? null : ParticipantId(id(m.participantId, 'participant_id')),
    state,
    startedAt: Number(m.startedAtMs),
    endedAt: m.endedAtMs === undefined ? null : Number(m.endedAtMs),
    reason: optionalText(m.reason, 'reason'),
    playlist: optionalText(m.playlist, 'playlist'),
    files: m.files.map((f) => text(f, 'files')),
    moqPath: optionalText(m.moqPath, 'moq_path'),
    nodeId: text(m.nodeId, 'node_id'),
    baseUrl: optionalText(m.baseUrl, 'base_url'),
  };
}

export function egressStatsToProto(s: EgressStats): pb.EgressStats {
  return create(pb.EgressStatsSchema, {
    activeHls: s.active.hls,
    activeRecording: s.active.recording,
    activeMoq: s.active.moq,
    segmentsWritten: uint64(s.segmentsWritten),
    bytesWritten: uint64(s.bytesWritten),
    uploadErrors: uint64(s.uploadErrors),
    transcodeCpuSeconds: s.transcodeCpuSeconds,
  });
}

export function egressStatsFromProto(m: pb.EgressStats): EgressStats {
  // Why: a counter that is not a finite, non-negative number would poison a cluster's sum.
  if (!Number.isFinite(m.transcodeCpuSeconds) || m.transcodeCpuSeconds < 0)
    throw invalid('transcode_cpu_seconds must be a finite number, 0 or more');
  return {
    active: { hls: m.activeHls, recording: m.activeRecording, moq: m.activeMoq },
    segmentsWritten: Number(m.segmentsWritten),
    bytesWritten: Number(m.bytesWritten),
    uploadErrors: Number(m.uploadErrors),
    transcodeCpuSeconds: m.transcodeCpuSeconds,
  };
}
