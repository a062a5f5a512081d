import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { compactNtp, ntpFromUnixMs } from '../../rtp/rtcp-reports.ts';
import {
  type ConnectionQuality,
  ConnectionQualityTracker,
  connectionScore,
  PublisherReceiveStats,
  RttEstimator,
  StreamReceiveStats,
  SubscriberReportStats,
} from './connection-quality.ts';

const window = (lossRatio: number, jitterMs = 2, rttMs: number | undefined = 2, packetsReceived = 100) => ({
  packetsReceived,
  lossRatio,
  jitterMs,
  rttMs,
});

describe('connectionScore (simplified E-model)', () => {
  it('is ~100 on loopback and falls with loss, jitter and RTT', () => {
    assert.ok(connectionScore(window(0, 1, 1)) > 99);
    assert.ok(connectionScore(window(0.02)) > 90);
    assert.ok(connectionScore(window(0.1)) < 61);
    assert.ok(connectionScore(window(0, 0, 600)) < 90, 'a 600 ms RTT costs');
    assert.ok(connectionScore(window(0, 0, 1000)) < 80, 'a 1 s RTT is not excellent');
    assert.equal(connectionScore(window(1)), 0);
  });
});

describe('ConnectionQualityTracker', () => {
  it('reports the first level, then only changes; hysteresis keeps it from flapping at a boundary', () => {
    const t = new ConnectionQualityTracker();
    assert.deepEqual(t.update(window(0)), { quality: 'excellent', score: 100 });
    assert.equal(t.update(window(0)), undefined);
    // Around the excellent/good boundary (score ≈ 80 ± 2): from excellent, it takes a clear fall.
    const seen: Array<ConnectionQuality | undefined> = [];
    for (let i = 0; i < 6; i++) seen.push(t.update(window(i % 2 ? 0.045 : 0.055))?.quality);
    assert.deepEqual(seen.filter(Boolean).length <= 1, true, `changes: ${seen}`);
  });

  it('falls fast and recovers slowly (LiveKit factors)', () => {
    const t = new ConnectionQualityTracker();
    t.update(window(0));
    assert.equal(t.update(window(0.15))?.quality, 'poor', 'one bad window: 100 → poor');
    const levels: Array<ConnectionQuality | undefined> = [];
    for (let i = 0; i < 6; i++) levels.push(t.update(window(0))?.quality ?? t.quality);
    assert.notEqual(levels[0], 'excellent', 'not excellent after one good window');
    assert.equal(levels.at(-1), 'excellent');
  });

  it('is lost when nothing arrives, and comes back', () => {
    const t = new ConnectionQualityTracker();
    assert.equal(t.update(window(0, 0, undefined, 0)), undefined, 'nothing known yet: no report');
    t.update(window(0));
    assert.deepEqual(t.update(window(0, 0, undefined, 0)), { quality: 'lost', score: 0 });
    assert.equal(t.update(window(0, 0, undefined, 0)), undefined);
    assert.equal(t.update(window(0))?.quality, 'excellent');
  });
});

describe('StreamReceiveStats / PublisherReceiveStats', () => {
  it('counts loss from sequence gaps per window, across the wrap, reordering included', () => {
    const s = new StreamReceiveStats(48_000);
    const out = { expected: 0, received: 0 };
    let t = 0;
    for (let seq = 65_530; seq < 65_530 + 100; seq++) {
      if (seq % 10 === 3) continue; // 10 % lost
      t += 20;
      s.onPacket(seq & 0xffff, (seq * 960) >>> 0, t);
    }
    s.takeWindow(out);
    assert.deepEqual(out, { expected: 100, received: 90 });
    // Reordered: 2 before 1.
    const next = { expected: 0, received: 0 };
    s.onPacket((65_630 + 1) & 0xffff, 0, t + 20);
    s.onPacket(65_630 & 0xffff, 0, t + 40);
    s.takeWindow(next);
    assert.deepEqual(next, { expected: 2, received: 2 });
  });

  it('jitter is ~0 for regular arrivals and grows with irregular ones (RFC 3550 A.8)', () => {
    const steady = new StreamReceiveStats(48_000);
    const shaky = new StreamReceiveStats(48_000);
    for (let i = 0; i < 200; i++) {
      steady.onPacket(i, i * 960, i * 20);
      shaky.onPacket(i, i * 960, i * 20 + (i % 2 ? 15 : 0));
    }
    assert.ok(steady.jitterMs < 0.01);
    assert.ok(shaky.jitterMs > 10 && shaky.jitterMs < 16, `${shaky.jitterMs}`);
  });

  it('reads the RTP timestamp as unsigned or signed alike, across 2^31 and the wrap', () => {
    for (const crossing of [2 ** 31, 2 ** 32]) {
      const unsigned = new StreamReceiveStats(90_000);
      const signed = new StreamReceiveStats(90_000);
      for (let i = 0; i < 200; i++) {
        const ts = (crossing - 100 * 3000 + i * 3000) >>> 0;
        const at = i * 33.3 + (i % 3) * 4;
        unsigned.onPacket(i, ts, at);
        signed.onPacket(i, ts | 0, at);
      }
      assert.ok(Math.abs(signed.jitter - unsigned.jitter) < 1e-6, `${signed.jitter} vs ${unsigned.jitter}`);
      assert.ok(signed.jitterMs > 1 && signed.jitterMs < 20, `no jump of 2^32: ${signed.jitterMs}`);
    }
  });

  it('sums the streams of a publisher', () => {
    const p = new PublisherReceiveStats();
    for (let i = 0; i < 50; i++) {
      p.onPacket(1, i, i * 960, 48_000, i * 20);
      if (i % 5 !== 0) p.onPacket(2, i, i * 3000, 90_000, i * 33);
    }
    const w = p.takeWindow();
    assert.equal(w.expected, 99);
    assert.equal(w.received, 90, 'stream 2 starts at 1: 9 of its 49 lost');
    assert.ok(Math.abs(w.lossRatio - 9 / 99) < 1e-9);
    assert.equal(p.takeWindow().expected, 0, 'a new window');
  });
});

describe('RttEstimator and SubscriberReportStats', () => {
  it('RTT = now − sent − DLSR for the LSR of a report we sent', () => {
    const clock = new ManualClock();
    const rtt = new RttEstimator();
    const ntpMs = 1_700_000_000_123; // the publisher's NTP time carried in our report
    rtt.senderReportSent(ntpMs, clock.nowMs());
    clock.advance(1000);
    rtt.senderReportSent(ntpMs, clock.nowMs()); // sent again: the newest one counts
    const { seconds, fraction } = ntpFromUnixMs(ntpMs);
    clock.advance(130);
    // The subscriber held it 100 ms: DLSR 100 ms in 1/65536 s.
    const got = rtt.rttMs(compactNtp(seconds, fraction), 6553.6, clock.nowMs());
    assert.ok(got !== undefined && Math.abs(got - 30) < 0.01, `${got}`);
    assert.equal(rtt.rttMs(0, 0, clock.nowMs()), undefined, 'no SR received yet');
    assert.equal(rtt.rttMs(12345, 0, clock.nowMs()), undefined, 'unknown LSR');
  });

  it('averages the fraction lost, keeps the worst jitter and the last RTT', () => {
    const s = new SubscriberReportStats();
    s.onReportBlock(0.1, 3, 20);
    s.onReportBlock(0, 8, undefined);
    assert.deepEqual(s.takeWindow(), { reports: 2, lossRatio: 0.05, jitterMs: 8, rttMs: 20 });
    assert.deepEqual(s.takeWindow(), { reports: 0, lossRatio: 0, jitterMs: 0, rttMs: 20 });
  });
});
