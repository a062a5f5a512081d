import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ParticipantId, RoomId } from '../lib/ids.ts';
import { Metrics } from '../lib/metrics.ts';
import { dumpCounts } from './dump-counts.ts';
import type { SfuDump } from './sfu-api.ts';

const dump: SfuDump = {
  rooms: [
    {
      roomId: RoomId('1'),
      participants: ['a', 'b'] as ParticipantId[],
      publishers: 1,
      subscriptions: 1,
      downTracks: 3,
      relays: 2,
      remoteTracks: 1,
      taps: 1,
    },
    {
      roomId: RoomId('2'),
      participants: ['c'] as ParticipantId[],
      publishers: 1,
      subscriptions: 0,
      downTracks: 0,
    },
  ],
  transports: 3,
  dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
};

describe('dumpCounts', () => {
  it('sums the live objects of every room by kind', () => {
    assert.deepEqual(dumpCounts(dump), {
      rooms: 2,
      participants: 3,
      publishers: 2,
      subscriptions: 1,
      down_tracks: 3,
      transports: 3,
      relays: 2,
      remote_tracks: 1,
      taps: 1,
    });
  });

  it('an empty dump counts zero of every kind', () => {
    const empty = dumpCounts({ rooms: [], transports: 0, dropped: dump.dropped });
    assert.ok(Object.values(empty).every((n) => n === 0));
    assert.equal(Object.keys(empty).length, 9);
  });

  it('metrics.watchMedia() exposes the counts as bbmeet_media_objects{kind}, read at each scrape', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let current = dump;
    metrics.watchMedia(async () => dumpCounts(current));
    assert.match(await metrics.registry.metrics(), /bbmeet_media_objects\{kind="down_tracks"\} 3/);
    current = { rooms: [], transports: 0, dropped: dump.dropped };
    const text = await metrics.registry.metrics();
    assert.match(text, /bbmeet_media_objects\{kind="down_tracks"\} 0/);
    assert.match(text, /bbmeet_media_objects\{kind="transports"\} 0/);
  });
});
