import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PlaybackSample, STALL_MS, StallWatch } from './stall-watch.ts';

/** The viewer's stall watchdog: when it acts on a live playhead standing still, and how. */

function sample(nowMs: number, currentTime: number, extra: Partial<PlaybackSample> = {}): PlaybackSample {
  return { nowMs, currentTime, live: true, pausedOnPurpose: false, liveSyncPosition: 30, ...extra };
}

describe('StallWatch', () => {
  it('leaves an advancing playhead alone', () => {
    const watch = new StallWatch();
    for (let i = 0; i < 20; i++) assert.equal(watch.look(sample(i * 1000, i)).kind, 'none');
  });

  it('seeks to the live sync position after STALL_MS standing still, then recovers the media too', () => {
    const watch = new StallWatch();
    assert.equal(watch.look(sample(0, 12.5)).kind, 'none');
    assert.equal(watch.look(sample(STALL_MS - 1, 12.5)).kind, 'none');
    assert.deepEqual(watch.look(sample(STALL_MS, 12.5)), { kind: 'seek-live', to: 30, stalledMs: STALL_MS });
    assert.equal(watch.look(sample(2 * STALL_MS - 1, 12.5)).kind, 'none', 'the seek is given time');
    assert.deepEqual(watch.look(sample(2 * STALL_MS, 12.5)), {
      kind: 'recover',
      to: 30,
      stalledMs: STALL_MS,
    });
    // It plays again: the next stall starts over with a seek.
    assert.equal(watch.look(sample(2 * STALL_MS + 500, 13)).kind, 'none');
    assert.equal(watch.look(sample(3 * STALL_MS + 500, 13)).kind, 'seek-live');
  });

  it('recovers without a seek before hls.js knows a live sync position', () => {
    const watch = new StallWatch();
    watch.look(sample(0, 1, { liveSyncPosition: null }));
    assert.deepEqual(watch.look(sample(STALL_MS, 1, { liveSyncPosition: null })), {
      kind: 'recover',
      to: null,
      stalledMs: STALL_MS,
    });
  });

  it('a pause chosen by the viewer or an ended playlist is no stall, and restarts the count', () => {
    const watch = new StallWatch();
    watch.look(sample(0, 5));
    assert.equal(watch.look(sample(STALL_MS, 5, { pausedOnPurpose: true })).kind, 'none');
    assert.equal(watch.look(sample(2 * STALL_MS, 5, { live: false })).kind, 'none');
    assert.equal(watch.look(sample(3 * STALL_MS - 1, 5)).kind, 'none');
    assert.equal(watch.look(sample(3 * STALL_MS, 5)).kind, 'seek-live');
  });
});
