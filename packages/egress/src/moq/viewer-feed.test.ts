import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VIDEO_TRACK } from './hang-catalog.ts';
import { encodeLegacy } from './moq-broadcast.ts';
import { ViewerFeed } from './viewer-feed.ts';

function link(lag: { bytes: number }) {
  const counts = { handed: 0, dropped: 0 };
  return {
    counts,
    lagBytes: () => lag.bytes,
    handed: (bytes: number) => {
      counts.handed += bytes;
    },
    groupDropped: () => {
      counts.dropped++;
    },
  };
}

describe('ViewerFeed', () => {
  it('skips whole groups while the viewer is behind, counts them, and resumes at the next group', async () => {
    const lag = { bytes: 0 };
    const viewer = link(lag);
    const feed = new ViewerFeed(viewer, 1000);
    feed.catalog({ video: { renditions: {} } });
    const track = feed.broadcast.track(VIDEO_TRACK).subscribe();

    feed.startGroup(VIDEO_TRACK);
    feed.frame(VIDEO_TRACK, encodeLegacy(Buffer.alloc(10, 1), 0));
    lag.bytes = 5000;
    feed.startGroup(VIDEO_TRACK);
    feed.frame(VIDEO_TRACK, encodeLegacy(Buffer.alloc(10, 2), 33_000));
    lag.bytes = 0;
    feed.startGroup(VIDEO_TRACK);
    feed.frame(VIDEO_TRACK, encodeLegacy(Buffer.alloc(10, 3), 66_000));
    feed.end();

    const sequences: number[] = [];
    for (let group = await track.recvGroup(); group; group = await track.recvGroup()) {
      sequences.push(group.sequence);
    }
    assert.deepEqual(sequences, [0, 1], 'two groups reached the viewer, the middle one was skipped');
    assert.equal(viewer.counts.dropped, 1);
    const sent = [0, 66_000].map((us) => encodeLegacy(Buffer.alloc(10), us).payload.byteLength);
    assert.equal(viewer.counts.handed, sent[0]! + sent[1]!, 'only the frames of groups sent count as handed');
  });
});
