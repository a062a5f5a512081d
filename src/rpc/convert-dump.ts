import { create } from '@bufbuild/protobuf';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type { HandoverStats, SfuDump } from '../protocol/sfu-api.ts';
import {
  egressInfoFromProto,
  egressInfoToProto,
  egressStatsFromProto,
  egressStatsToProto,
} from './convert-egress.ts';
import { fromUint64s, toUint64s } from './proto-fields.ts';

// Conversions of a node's dump (rooms, egress, handover and dropped-datagram counters), read by
// tests and the admin tools; trusted in both directions, as it only ever comes from our own nodes.

const HANDOVER_COUNTERS: readonly (keyof HandoverStats)[] = [
  'batchesSent',
  'packetsSent',
  'batchesReceived',
  'packetsReceived',
  'malformed',
  'unknownTrack',
];
const DROPPED_COUNTERS: readonly (keyof SfuDump['dropped'])[] = [
  'malformed',
  'unknownAddress',
  'unknownUsername',
];
const NOTHING_DROPPED: SfuDump['dropped'] = { malformed: 0, unknownAddress: 0, unknownUsername: 0 };

function roomToProto(r: SfuDump['rooms'][number]): pb.RoomDump {
  return create(pb.RoomDumpSchema, {
    roomId: r.roomId,
    participants: r.participants,
    publishers: r.publishers,
    subscriptions: r.subscriptions,
    downTracks: r.downTracks,
    workers: r.workers ?? [],
    relays: r.relays,
    remoteTracks: r.remoteTracks,
    taps: r.taps,
  });
}

function roomFromProto(r: pb.RoomDump): SfuDump['rooms'][number] {
  return {
    roomId: RoomId(r.roomId),
    participants: r.participants.map(ParticipantId),
    publishers: r.publishers,
    subscriptions: r.subscriptions,
    downTracks: r.downTracks,
    ...(r.workers.length > 0 ? { workers: r.workers } : {}),
    ...(r.relays === undefined ? {} : { relays: r.relays }),
    ...(r.remoteTracks === undefined ? {} : { remoteTracks: r.remoteTracks }),
    ...(r.taps === undefined ? {} : { taps: r.taps }),
  };
}

export function dumpToProto(d: SfuDump): pb.DumpResponse {
  return create(pb.DumpResponseSchema, {
    rooms: d.rooms.map(roomToProto),
    egress: (d.egress ?? []).map(egressInfoToProto),
    ...(d.egressStats ? { egressStats: egressStatsToProto(d.egressStats) } : {}),
    ...(d.handover
      ? { handover: create(pb.HandoverStatsSchema, toUint64s(d.handover, HANDOVER_COUNTERS)) }
      : {}),
    transports: d.transports,
    dropped: create(pb.DroppedDatagramsSchema, toUint64s(d.dropped, DROPPED_COUNTERS)),
  });
}

export function dumpFromProto(m: pb.DumpResponse): SfuDump {
  const dump: SfuDump = {
    rooms: m.rooms.map(roomFromProto),
    transports: m.transports,
    dropped: m.dropped ? fromUint64s(m.dropped, DROPPED_COUNTERS) : { ...NOTHING_DROPPED },
  };
  if (m.egress.length > 0) dump.egress = m.egress.map(egressInfoFromProto);
  if (m.egressStats) dump.egressStats = egressStatsFromProto(m.egressStats);
  if (m.handover) dump.handover = fromUint64s(m.handover, HANDOVER_COUNTERS);
  return dump;
}
