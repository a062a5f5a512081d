import type { SfuDump } from './sfu-api.ts';

/**
 * Live media objects of a dump by kind, summed over rooms: what `bbmeet_media_objects` exposes, so
 * a process outside the server (the bench's soak) can check that everything is gone once every
 * participant left. Counts only: no room or participant identifiers.
 */
export function dumpCounts(dump: SfuDump): Record<string, number> {
  const counts = {
    rooms: dump.rooms.length,
    participants: 0,
    publishers: 0,
    subscriptions: 0,
    down_tracks: 0,
    transports: dump.transports,
    relays: 0,
    remote_tracks: 0,
    taps: 0,
  };
  for (const room of dump.rooms) {
    counts.participants += room.participants.length;
    counts.publishers += room.publishers;
    counts.subscriptions += room.subscriptions;
    counts.down_tracks += room.downTracks;
    counts.relays += room.relays ?? 0;
    counts.remote_tracks += room.remoteTracks ?? 0;
    counts.taps += room.taps ?? 0;
  }
  return counts;
}
