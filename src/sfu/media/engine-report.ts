/**
 * What a media worker reports of itself: the once-a-second media report (drops counted outside the
 * media counters, live objects) and the dump. Pure reads of the engine's parts; the engine itself
 * (media-engine.ts) serves the operations.
 */

import type { RoomId } from '../../lib/ids.ts';
import type { MediaWorkerReport } from '../../lib/media-counters.ts';
import type { SfuDump } from '../../protocol/sfu-api.ts';
import type { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import type { DataChannelRelay } from './data-channels.ts';
import type { EgressTaps } from './egress-tap.ts';
import { dumpRoom, type Room } from './engine-room.ts';
import type { WorkerRelays } from './worker-relays.ts';

/** The parts of a media engine its reports read. */
export interface EngineParts {
  endpoint: UdpEndpoint;
  rooms: ReadonlyMap<RoomId, Room>;
  relays: WorkerRelays;
  data: DataChannelRelay;
  taps: EgressTaps;
}

/** The drops counted outside the media counters, and the objects live in the worker. */
export function engineMediaReport(parts: EngineParts): Omit<MediaWorkerReport, 'counters' | 'histograms'> {
  const { endpoint } = parts;
  const stats = endpoint.stats;
  const handover = parts.relays.handover();
  const tcp = endpoint.tcp?.dump();
  const gauges = { publishers: 0, subscriptions: 0, downTracks: 0 };
  for (const [roomId, room] of parts.rooms) {
    const part = dumpRoom(roomId, room, 0);
    gauges.publishers += part.publishers;
    gauges.subscriptions += part.subscriptions;
    gauges.downTracks += part.downTracks;
  }
  return {
    drops: {
      malformed: stats.malformed,
      unknownPeer: stats.unknownAddress,
      unknownUfrag: stats.unknownUsername,
      sendError: stats.sendErrors,
      sendBufferFull: (tcp?.rtpDropped ?? 0) + (tcp?.otherDropped ?? 0),
      tcpFraming: tcp?.framingErrors ?? 0,
      relayMalformed: handover.malformed,
      relayUnknownTrack: handover.unknownTrack,
      dataRefused: parts.data.stats.refused,
    },
    gauges: {
      ...gauges,
      transports: endpoint.transportCount,
      dataChannels: endpoint.dataChannelCount(),
      eventLoopDelayP99Seconds: 0,
      cpuSeconds: 0,
    },
  };
}

/** The worker's part of `sfu.dump()`. */
export function engineDump(parts: EngineParts): SfuDump {
  const { endpoint } = parts;
  return {
    rooms: [...parts.rooms].map(([roomId, room]) => dumpRoom(roomId, room, parts.taps.count(roomId))),
    transports: endpoint.transportCount,
    dropped: {
      malformed: endpoint.stats.malformed,
      unknownAddress: endpoint.stats.unknownAddress,
      unknownUsername: endpoint.stats.unknownUsername,
    },
    handover: parts.relays.handover(),
    data: { relayed: parts.data.stats.relayed, refused: parts.data.stats.refused },
    iceTcp: endpoint.tcp?.dump(),
  };
}
