import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mediaCounters, setMediaCounting } from '../../src/lib/media-counters.ts';
import { MEDIA_HISTOGRAMS, mediaHistograms } from '../../src/lib/media-histograms.ts';
import { buildRemb, writeReceiverReport } from '../../src/rtp/rtcp.ts';
import { oneLayerSubscription, vp8 } from '../support/qos-rig.ts';

describe('QoS wiring: quality metrics', () => {
  it("the worker's quality histograms: each receiver report block counts loss and jitter, the periodic allocation the estimate once a second", () => {
    const { clock, t, sub, up } = oneLayerSubscription();
    const before = {
      lost: mediaHistograms.fractionLost.snapshot(),
      jitter: mediaHistograms.jitter.snapshot(),
      estimate: mediaHistograms.estimate.snapshot(),
      ratio: mediaHistograms.estimateRatio.snapshot(),
    };
    const rr = Buffer.alloc(32);
    const block = { fractionLost: 26, cumulativeLost: 3, highestSeq: 100, lastSr: 0, delaySinceLastSr: 0 };
    // 26/256 ≈ 10.2 % lost, jitter 900 ticks of 90 kHz = 10 ms; one block for a stream not sent here.
    writeReceiverReport(rr, 0, { ssrc: 1, reports: [{ ...block, ssrc: 0x5000, jitter: 900 }] });
    t.onRtcp!(rr);
    writeReceiverReport(rr, 0, { ssrc: 1, reports: [{ ...block, ssrc: 0x9999, jitter: 900 }] });
    t.onRtcp!(rr);
    const lost = mediaHistograms.fractionLost.snapshot();
    assert.equal(lost.count - before.lost.count, 1, 'one block about a stream we send');
    assert.ok(Math.abs(lost.sum - before.lost.sum - 26 / 256) < 1e-12);
    const le02 = MEDIA_HISTOGRAMS.fractionLost.bounds.indexOf(0.2);
    assert.equal(lost.counts[le02]! - before.lost.counts[le02]!, 1, '10.2 % lands in the 0.2 bucket');
    const jitter = mediaHistograms.jitter.snapshot();
    assert.ok(Math.abs(jitter.sum - before.jitter.sum - 0.01) < 1e-12);
    t.onRtcp!(buildRemb(1, 2_000_000, [0x5000]));
    for (let i = 0; i < 90; i++) {
      up.onRtp(vp8(111, i, i * 3000, { key: i === 0, pictureId: i, size: 400 }), 20, 111);
      clock.advance(1000 / 30);
    }
    const estimate = mediaHistograms.estimate.snapshot();
    const ratio = mediaHistograms.estimateRatio.snapshot();
    assert.equal(estimate.count - before.estimate.count, 3, 'once a second, not per packet or per feedback');
    assert.equal(estimate.sum - before.estimate.sum, 6_000_000);
    assert.equal(ratio.count - before.ratio.count, 3);
    // The lowest layer takes about 400 bytes × 30/s ≈ 0.1 Mbit/s (plus audio none): far below 2 Mbit/s.
    assert.ok((ratio.sum - before.ratio.sum) / 3 > 5, 'the estimate is several times what is allocated');
    sub.close();
  });

  it('with the media counting off (BBMEET_MEDIA_COUNTERS=0), forwarding, feedback and reports count nothing', () => {
    const { clock, t, sub, up } = oneLayerSubscription();
    const rr = Buffer.alloc(32);
    writeReceiverReport(rr, 0, {
      ssrc: 1,
      reports: [
        {
          ssrc: 0x5000,
          fractionLost: 26,
          cumulativeLost: 3,
          highestSeq: 9,
          jitter: 900,
          lastSr: 0,
          delaySinceLastSr: 0,
        },
      ],
    });
    const run = (from: number) => {
      t.onRtcp!(rr);
      t.onRtcp!(buildRemb(1, 2_000_000, [0x5000]));
      for (let i = from; i < from + 60; i++) {
        up.onRtp(vp8(111, i, i * 3000, { key: i === 0, pictureId: i, size: 400 }), 20, 111);
        clock.advance(1000 / 30);
      }
    };
    const counted = () => [
      mediaCounters.forwardedPackets,
      mediaHistograms.fractionLost.snapshot().count,
      mediaHistograms.estimate.snapshot().count,
    ];
    const before = counted();
    setMediaCounting(false);
    try {
      run(0);
    } finally {
      setMediaCounting(true);
    }
    assert.deepEqual(counted(), before, 'nothing counted while off');
    run(60);
    const after = counted();
    assert.ok(
      after.every((n, i) => n > before[i]!),
      `counted again once on: ${before} → ${after}`,
    );
    sub.close();
  });
});
