import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Timeline } from './timeline.ts';

describe('Timeline', () => {
  it('counts RTP time across the 32-bit wrap, from 0 at the first frame', () => {
    let now = 500;
    const timeline = new Timeline(() => now);
    const clock = timeline.track(90_000);
    const start = 0xffff_ffff - 90_000 + 1;
    assert.equal(clock.ptsUs(start), 0);
    now = 1500;
    assert.equal(clock.ptsUs((start + 90_000) >>> 0), 1_000_000);
    assert.equal(clock.ptsUs((start + 180_000) >>> 0), 2_000_000);
  });

  it('aligns a second track by arrival before any sender report', () => {
    let now = 0;
    const timeline = new Timeline(() => now);
    const audio = timeline.track(48_000);
    const video = timeline.track(90_000);
    assert.equal(audio.ptsUs(123_456), 0);
    now = 250;
    assert.equal(video.ptsUs(999), 250_000);
    assert.equal(audio.ptsUs(123_456 + 48_000 / 4), 250_000);
  });

  it('keeps a track monotonic when a sender report moves its mapping back', () => {
    let now = 0;
    const timeline = new Timeline(() => now);
    const clock = timeline.track(48_000);
    clock.ptsUs(0);
    now = 1000;
    assert.equal(clock.ptsUs(48_000), 1_000_000);
    // The first report fixes NTP ↔ local; a later one says this stream runs 30 ms behind.
    clock.senderReport(5_000_000, 48_000);
    clock.senderReport(5_000_000 + 1000, 48_000 + 48_000 + 30 * 48);
    const next = clock.ptsUs(48_000 + 960);
    assert.ok(next > 1_000_000 && next <= 1_000_001, `pts ${next}`);
    assert.equal(clock.synced, true);
  });

  it('regression: publishers of a room egress each tie their own NTP clock to ours', () => {
    let now = 0;
    const timeline = new Timeline(() => now);
    const alice = timeline.publisher().track(48_000);
    const bob = timeline.publisher().track(48_000);
    // Both capture at local 0 and 1000 ms; Bob's NTP clock runs an hour ahead of Alice's.
    alice.senderReport(5_000_000_000, 1000);
    bob.senderReport(5_000_000_000 + 3_600_000, 90_000);
    assert.equal(alice.ptsUs(1000), 0);
    assert.equal(bob.ptsUs(90_000), 0);
    now = 1000;
    assert.equal(alice.ptsUs(1000 + 48_000), 1_000_000);
    assert.equal(bob.ptsUs(90_000 + 48_000), 1_000_000);
  });
});
