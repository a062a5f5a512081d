import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RtcpIterator } from '../../rtp/rtcp-common.ts';
import { parseTwcc, type TwccFeedback, writeTwcc } from '../../rtp/rtcp-twcc.ts';
import { RembEstimator } from './remb-estimator.ts';
import { SendSideEstimator } from './send-side-estimator.ts';

const PACKET_BYTES = 1200;
const FEEDBACK_INTERVAL_MS = 50;
const PROPAGATION_MS = 20;

/** A transport-cc feedback built and parsed through the real codec (packet builder). */
function twccFeedback(baseSeq: number, arrivalsUs: Array<number | undefined>, count: number): TwccFeedback {
  const out = Buffer.alloc(2000);
  const bytes = writeTwcc(out, 0, {
    senderSsrc: 1,
    mediaSsrc: 2,
    baseSeq,
    feedbackPacketCount: count,
    arrivalsUs,
  });
  assert.ok(bytes > 0);
  const it = new RtcpIterator(out.subarray(0, bytes));
  assert.ok(it.next());
  const fb = parseTwcc(out.subarray(0, bytes), it);
  assert.ok(fb);
  return fb;
}

interface Path {
  /** Bottleneck capacity: packets queue behind each other at this rate. */
  capacityBps: number;
  /** Every n-th packet is lost (0: none). */
  lossEvery?: number;
  /** From this send time on, the bottleneck has capacity `bps` instead. */
  change?: { atMs: number; bps: number };
}

/**
 * Sends `sendBps` of 1200-byte packets through a FIFO bottleneck for `seconds`, with feedback
 * every 50 ms on the packets that arrived (or were lost) by then. Returns the estimates seen.
 */
function simulate(est: SendSideEstimator, sendBps: number, path: Path, seconds: number): number[] {
  const intervalMs = (PACKET_BYTES * 8 * 1000) / sendBps;
  const serviceMsAt = (sendMs: number) =>
    (PACKET_BYTES * 8 * 1000) /
    (path.change && sendMs >= path.change.atMs ? path.change.bps : path.capacityBps);
  const sent: Array<{ seq: number; sendMs: number; arrivalMs: number | undefined }> = [];
  const estimates: number[] = [];
  let queueFreeMs = 0;
  let nextSendMs = 0;
  let reported = 0;
  let feedbacks = 0;
  for (let nowMs = 0; nowMs <= seconds * 1000; nowMs += FEEDBACK_INTERVAL_MS) {
    for (; nextSendMs <= nowMs; nextSendMs += intervalMs) {
      const seq = sent.length;
      const lost = path.lossEvery !== undefined && path.lossEvery > 0 && seq % path.lossEvery === 0;
      queueFreeMs = lost
        ? queueFreeMs
        : Math.max(nextSendMs + PROPAGATION_MS, queueFreeMs) + serviceMsAt(nextSendMs);
      sent.push({ seq, sendMs: nextSendMs, arrivalMs: lost ? undefined : queueFreeMs });
      est.onPacketSent(seq & 0xffff, PACKET_BYTES, nextSendMs);
    }
    const batch: Array<number | undefined> = [];
    const base = reported;
    for (; reported < sent.length; reported++) {
      const p = sent[reported]!;
      const known = p.arrivalMs === undefined ? p.sendMs + PROPAGATION_MS <= nowMs : p.arrivalMs <= nowMs;
      if (!known) break;
      batch.push(p.arrivalMs === undefined ? undefined : 5_000_000 + p.arrivalMs * 1000);
    }
    if (batch.some((a) => a !== undefined))
      est.onFeedback(twccFeedback(base & 0xffff, batch, feedbacks++), nowMs);
    else reported = base;
    estimates.push(est.estimateBps);
  }
  return estimates;
}

describe('SendSideEstimator', () => {
  it('estimateBps increases on a clean path, up to 1.5 × the acknowledged throughput', () => {
    const est = new SendSideEstimator({ startBps: 300_000 });
    simulate(est, 1_000_000, { capacityBps: 10_000_000 }, 10);
    assert.equal(est.usage, 'normal');
    assert.ok(est.estimateBps > 1_000_000, `estimate ${est.estimateBps}`);
    assert.ok(est.estimateBps <= 1.5 * 1_000_000 + 10_000 + 1, `estimate ${est.estimateBps}`);
  });

  it('estimateBps decreases under a growing delay gradient (sending above the bottleneck)', () => {
    const est = new SendSideEstimator({ startBps: 1_500_000 });
    const seen = simulate(est, 1_500_000, { capacityBps: 800_000 }, 4);
    assert.ok(est.delayBasedBps < 800_000, `delay-based ${est.delayBasedBps}`);
    assert.ok(est.estimateBps < 1_500_000 * 0.6, `estimate ${est.estimateBps}`);
    assert.ok(Math.min(...seen) >= 30_000);
  });

  it('the first decrease lands at the bottleneck rate, not at the rate from before the queue formed', () => {
    const est = new SendSideEstimator({ startBps: 1_500_000 });
    // Two seconds on a free path, then the link drops to 500 kbps (a cap switched on).
    const seen = simulate(
      est,
      1_500_000,
      { capacityBps: 10_000_000, change: { atMs: 2000, bps: 500_000 } },
      3,
    );
    const before = seen[Math.floor(2000 / FEEDBACK_INTERVAL_MS)]!;
    const first = seen.slice(Math.floor(2000 / FEEDBACK_INTERVAL_MS)).find((e) => e < before * 0.9);
    assert.ok(first !== undefined, 'it decreased');
    // 0.85 × the link's 500 kbps, give or take a packet's worth of measuring.
    assert.ok(first <= 0.85 * 500_000 * 1.1, `first decrease to ${Math.round(first)} bps`);
  });

  it('estimateBps decreases under 20 % loss while the delay-based part does not', () => {
    const est = new SendSideEstimator({ startBps: 1_000_000 });
    simulate(est, 1_000_000, { capacityBps: 10_000_000, lossEvery: 5 }, 3);
    assert.ok(Math.abs(est.lossFraction - 0.2) < 0.03, `loss ${est.lossFraction}`);
    assert.ok(est.lossBasedBps < 700_000, `loss-based ${est.lossBasedBps}`);
    assert.equal(est.estimateBps, Math.min(est.lossBasedBps, est.delayBasedBps));
    assert.ok(est.delayBasedBps >= 1_000_000, `delay-based ${est.delayBasedBps}`);
  });

  it('queueDelayMs is the bottleneck queue: about 0 on a clean path, growing when sending above capacity', () => {
    const clean = new SendSideEstimator({ startBps: 1_000_000 });
    simulate(clean, 1_000_000, { capacityBps: 10_000_000 }, 3);
    assert.ok(clean.queueDelayMs < 5, `clean ${clean.queueDelayMs}`);
    const congested = new SendSideEstimator({ startBps: 1_000_000 });
    // Twice the capacity for 1 s: half of what was sent is still queued, about 500 ms of it.
    simulate(congested, 1_000_000, { capacityBps: 500_000 }, 1);
    assert.ok(congested.queueDelayMs > 300, `congested ${congested.queueDelayMs}`);
  });

  it('estimateBps holds between 2 % and 10 % loss', () => {
    const est = new SendSideEstimator({ startBps: 1_000_000 });
    simulate(est, 1_000_000, { capacityBps: 10_000_000, lossEvery: 20 }, 3);
    assert.equal(est.lossBasedBps, 1_000_000);
  });

  it('onFeedback() ignores packets it never sent and packets already reported', () => {
    const est = new SendSideEstimator({ startBps: 500_000 });
    const fb = twccFeedback(100, [1000, undefined, undefined, 3000], 0);
    est.onFeedback(fb, 0);
    assert.equal(est.estimateBps, 500_000);
    for (let seq = 0; seq < 30; seq++) est.onPacketSent(seq, PACKET_BYTES, seq * 10);
    const lostAll = twccFeedback(0, [1000, ...new Array<undefined>(29)], 1);
    est.onFeedback(lostAll, 400);
    const before = est.lossBasedBps;
    est.onFeedback(lostAll, 800);
    assert.equal(est.lossBasedBps, before, 'the same packets are not counted twice');
    assert.ok(before < 500_000);
  });

  it('the constructor refuses bounds with min above max', () => {
    assert.throws(() => new SendSideEstimator({ minBps: 2_000, maxBps: 1_000 }), TypeError);
  });

  it('bytesInFlight counts what was sent in the last second and no feedback reported yet', () => {
    const est = new SendSideEstimator();
    for (let seq = 0; seq < 10; seq++) est.onPacketSent(seq, 1000, seq);
    assert.equal(est.bytesInFlight(10), 10_000);
    // Feedback on 0..5: four arrived, two lost; both kinds are no longer in flight.
    est.onFeedback(twccFeedback(0, [10_000, 11_000, undefined, 13_000, undefined, 15_000], 0), 20);
    assert.equal(est.bytesInFlight(20), 4000);
    assert.equal(est.bytesInFlight(1100), 0, 'never reported after a second: feedback lost, not queued');
  });

  it('the history grows with the packet rate: 3,000 packets within a second are all still in flight, and each reported once', () => {
    const est = new SendSideEstimator();
    // 3 packets per ms: past the 512 slots the history starts with, twice over.
    for (let seq = 0; seq < 3000; seq++) est.onPacketSent(seq & 0xffff, 100, Math.floor(seq / 3));
    assert.equal(est.bytesInFlight(1000), 300_000);
    // The first 100 arrived (reported once: a second feedback on them changes nothing).
    const arrivals = Array.from({ length: 100 }, (_, i) => 10_000 + i * 100);
    est.onFeedback(twccFeedback(0, arrivals, 0), 1000);
    est.onFeedback(twccFeedback(0, arrivals, 1), 1000);
    assert.equal(est.bytesInFlight(1000), 290_000);
  });

  it("at an audio stream's rate the history wraps instead: a packet older than its slots is forgotten", () => {
    const est = new SendSideEstimator();
    // 50 packets/s for 20 s: 1,000 packets, 20 ms apart, so slot reuse is 10 s later.
    for (let seq = 0; seq < 1000; seq++) est.onPacketSent(seq, 100, seq * 20);
    // A feedback on packet 0 (overwritten by packet 512) counts nothing.
    est.onFeedback(twccFeedback(0, [1_000], 0), 20_000);
    assert.equal(est.bytesInFlight(20_000), 100 * 50, 'the last second in flight, untouched');
    est.onFeedback(twccFeedback(999, [20_000_000], 1), 20_000);
    assert.equal(est.bytesInFlight(20_000), 100 * 49);
  });
});

describe('RembEstimator', () => {
  it('estimateBps is the last REMB value, within bounds', () => {
    const est = new RembEstimator({ startBps: 300_000, maxBps: 5_000_000 });
    assert.equal(est.estimateBps, 300_000);
    est.onRemb(1_234_000, 10);
    assert.equal(est.estimateBps, 1_234_000);
    assert.equal(est.lastRembMs, 10);
    est.onRemb(9_000_000, 20);
    assert.equal(est.estimateBps, 5_000_000);
    est.onRemb(Number.NaN, 30);
    assert.equal(est.estimateBps, 5_000_000);
  });
});
