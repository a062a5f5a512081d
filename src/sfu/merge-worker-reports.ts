/**
 * What the media workers report, merged for the process: their dumps added up (a room spanning
 * workers appears once) and the active speakers of a room spanning workers. Pure functions; not
 * the asking (media-worker-pool.ts).
 */

import type { RoomId } from '../lib/ids.ts';
import type { ActiveSpeakerInfo, SfuDump } from '../protocol/sfu-api.ts';

/**
 * The active speakers of a room spanning workers from each worker's latest list (each knows only
 * its own publishers): loudest first; one worker's list as it is.
 */
export function mergeActiveSpeakers(byWorker: ReadonlyMap<number, ActiveSpeakerInfo[]>): ActiveSpeakerInfo[] {
  if (byWorker.size === 1) return [...byWorker.values()][0]!;
  return [...byWorker.values()].flat().sort((a, b) => b.level - a.level);
}

/** The workers' dumps (by worker index) as one: counters summed, each room once with its workers named. */
export function mergeWorkerDumps(dumps: readonly SfuDump[]): SfuDump {
  const sum = (pick: (d: SfuDump) => number) => dumps.reduce((n, d) => n + pick(d), 0);
  return {
    rooms: mergeRooms(dumps),
    transports: sum((d) => d.transports),
    dropped: {
      malformed: sum((d) => d.dropped.malformed),
      unknownAddress: sum((d) => d.dropped.unknownAddress),
      unknownUsername: sum((d) => d.dropped.unknownUsername),
    },
    handover: {
      batchesSent: sum((d) => d.handover?.batchesSent ?? 0),
      packetsSent: sum((d) => d.handover?.packetsSent ?? 0),
      batchesReceived: sum((d) => d.handover?.batchesReceived ?? 0),
      packetsReceived: sum((d) => d.handover?.packetsReceived ?? 0),
      malformed: sum((d) => d.handover?.malformed ?? 0),
      unknownTrack: sum((d) => d.handover?.unknownTrack ?? 0),
    },
    data: { relayed: sum((d) => d.data?.relayed ?? 0), refused: sum((d) => d.data?.refused ?? 0) },
    iceTcp: {
      connections: sum((d) => d.iceTcp?.connections ?? 0),
      framingErrors: sum((d) => d.iceTcp?.framingErrors ?? 0),
      rtpDropped: sum((d) => d.iceTcp?.rtpDropped ?? 0),
      otherDropped: sum((d) => d.iceTcp?.otherDropped ?? 0),
    },
  };
}

/** A room spanning workers appears once, with its parts added up and its workers named. */
function mergeRooms(dumps: readonly SfuDump[]): SfuDump['rooms'] {
  const rooms = new Map<RoomId, SfuDump['rooms'][number]>();
  dumps.forEach((d, index) => {
    for (const part of d.rooms) {
      const room = rooms.get(part.roomId);
      if (!room) {
        rooms.set(part.roomId, {
          ...part,
          participants: [...part.participants],
          workers: [index],
          relays: part.relays ?? 0,
          remoteTracks: part.remoteTracks ?? 0,
          taps: part.taps ?? 0,
        });
        continue;
      }
      room.participants = [...new Set([...room.participants, ...part.participants])];
      room.publishers += part.publishers;
      room.subscriptions += part.subscriptions;
      room.downTracks += part.downTracks;
      room.relays = (room.relays ?? 0) + (part.relays ?? 0);
      room.remoteTracks = (room.remoteTracks ?? 0) + (part.remoteTracks ?? 0);
      room.taps = (room.taps ?? 0) + (part.taps ?? 0);
      room.workers = [...(room.workers ?? []), index];
    }
  });
  return [...rooms.values()];
}
