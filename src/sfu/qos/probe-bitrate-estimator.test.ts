import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProbeBitrateEstimator } from './probe-bitrate-estimator.ts';

const BYTES = 1000;

/**
 * Sends `count` packets of cluster `id` at `sendBps` through a FIFO bottleneck of `capacityBps`
 * (propagation 20 ms), reporting each packet's arrival; `lose(i)` drops packet i.
 */
function runCluster(
  probes: ProbeBitrateEstimator,
  id: number,
  opts: { sendBps: number; capacityBps: number; count: number; lose?: (i: number) => boolean },
): void {
  const gapMs = (BYTES * 8 * 1000) / opts.sendBps;
  const serviceMs = (BYTES * 8 * 1000) / opts.capacityBps;
  let freeAt = 0;
  const arrivals: Array<number | undefined> = [];
  for (let i = 0; i < opts.count; i++) {
    const sendMs = i * gapMs;
    probes.onSent(id, BYTES, sendMs);
    if (opts.lose?.(i)) {
      arrivals.push(undefined);
      continue;
    }
    freeAt = Math.max(freeAt, sendMs + 20) + serviceMs;
    arrivals.push(freeAt);
  }
  probes.end(id);
  for (const a of arrivals) probes.onFeedback(id, BYTES, a);
}

describe('ProbeBitrateEstimator', () => {
  it('a cluster the path carries: the result is the rate it was sent at', () => {
    const probes = new ProbeBitrateEstimator();
    runCluster(probes, 1, { sendBps: 1_000_000, capacityBps: 10_000_000, count: 25 });
    const r = probes.takeResult();
    assert.ok(r);
    assert.equal(r.clusterId, 1);
    assert.equal(r.saturated, false);
    assert.ok(Math.abs(r.bitrateBps - 1_000_000) < 20_000, `${r.bitrateBps}`);
    assert.equal(probes.takeResult(), undefined, 'taken once');
  });

  it('a cluster above the bottleneck: the result is the link capacity (backed off 5 %)', () => {
    const probes = new ProbeBitrateEstimator();
    runCluster(probes, 2, { sendBps: 600_000, capacityBps: 300_000, count: 15 });
    const r = probes.takeResult();
    assert.ok(r);
    assert.equal(r.saturated, true);
    assert.ok(Math.abs(r.receiveBps - 300_000) < 10_000, `${r.receiveBps}`);
    assert.ok(Math.abs(r.bitrateBps - 285_000) < 10_000, `${r.bitrateBps}`);
  });

  it('a cluster mostly lost is saturated; no result before the cluster ended and was fully reported', () => {
    const probes = new ProbeBitrateEstimator();
    probes.onSent(3, BYTES, 0);
    probes.onFeedback(3, BYTES, 30);
    assert.equal(probes.takeResult(), undefined, 'not ended');
    runCluster(probes, 4, {
      sendBps: 1_000_000,
      capacityBps: 10_000_000,
      count: 20,
      lose: (i) => i % 2 === 0,
    });
    const r = probes.takeResult();
    assert.ok(r);
    assert.equal(r.clusterId, 4);
    assert.equal(r.saturated, true);
  });

  it('judge() measures with the feedback so far; unknown clusters give nothing', () => {
    const probes = new ProbeBitrateEstimator();
    for (let i = 0; i < 10; i++) probes.onSent(5, BYTES, i * 8);
    for (let i = 0; i < 8; i++) probes.onFeedback(5, BYTES, 20 + i * 8);
    const r = probes.judge(5);
    assert.ok(r);
    assert.ok(r.bitrateBps > 900_000 && r.bitrateBps < 1_100_000, `${r.bitrateBps}`);
    assert.equal(probes.judge(5), undefined);
    assert.equal(probes.judge(99), undefined);
    probes.onFeedback(99, BYTES, 5);
  });
});
