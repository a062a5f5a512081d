import { create } from '@bufbuild/protobuf';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type { ParticipantInspection, RoomInspection, TrackInspection } from '../protocol/sfu-api.ts';
import { id, invalid, uint64 } from './proto-fields.ts';

/** SfuApi.inspectRoom ↔ InspectRoomResponse (the reply of a node, checked as any received message). */

const KINDS = ['audio', 'video'] as const;
const SOURCES = ['microphone', 'camera', 'screen'] as const;

export function inspectionToProto(r: RoomInspection): pb.InspectRoomResponse {
  return create(pb.InspectRoomResponseSchema, {
    roomId: r.roomId,
    nodeId: r.nodeId,
    participants: r.participants.map((p) => ({
      participantId: p.participantId,
      bitrateInBps: uint64(p.bitrateInBps),
      bitrateOutBps: uint64(p.bitrateOutBps),
      bytesIn: uint64(p.bytesIn),
      bytesOut: uint64(p.bytesOut),
      tracks: p.tracks.map((t) => ({ ...t, bitrateBps: uint64(t.bitrateBps) })),
    })),
  });
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw invalid(`${field} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function trackFromProto(t: pb.TrackInspection): TrackInspection {
  return {
    trackId: t.trackId.slice(0, 256),
    kind: oneOf(t.kind, KINDS, 'track.kind'),
    source: oneOf(t.source, SOURCES, 'track.source'),
    codec: t.codec.slice(0, 64),
    rids: t.rids.slice(0, 8).map((rid) => rid.slice(0, 16)),
    layers: t.layers,
    muted: t.muted,
    bitrateBps: Number(t.bitrateBps),
    subscribers: t.subscribers.map((s) => ({
      participantId: ParticipantId(id(s.participantId, 'subscriber.participant_id')),
      spatial: s.spatial,
      temporal: s.temporal,
    })),
  };
}

function participantFromProto(p: pb.ParticipantInspection): ParticipantInspection {
  return {
    participantId: ParticipantId(id(p.participantId, 'participant_id')),
    tracks: p.tracks.map(trackFromProto),
    bitrateInBps: Number(p.bitrateInBps),
    bitrateOutBps: Number(p.bitrateOutBps),
    bytesIn: Number(p.bytesIn),
    bytesOut: Number(p.bytesOut),
  };
}

export function inspectionFromProto(m: pb.InspectRoomResponse): RoomInspection {
  return {
    roomId: RoomId(id(m.roomId, 'room_id')),
    nodeId: m.nodeId,
    participants: m.participants.map(participantFromProto),
  };
}
