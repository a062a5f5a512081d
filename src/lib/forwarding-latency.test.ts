import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addLatencyHistograms,
  emptyLatencyHistogram,
  FORWARDING_LATENCY_BOUNDS_SECONDS,
  observeForwardingLatencyUs,
  snapshotForwardingLatency,
} from './forwarding-latency.ts';

test('observations land in the first bucket whose bound holds them; the rest above every bound', () => {
  const before = snapshotForwardingLatency();
  observeForwardingLatencyUs(50); // ≤ 0.1 ms
  observeForwardingLatencyUs(100); // = 0.1 ms: that bucket (le is inclusive)
  observeForwardingLatencyUs(3000); // ≤ 5 ms
  observeForwardingLatencyUs(2_000_000); // above 1 s
  observeForwardingLatencyUs(Number.NaN); // counted as 0
  const after = snapshotForwardingLatency();
  const added = after.counts.map((n, i) => n - before.counts[i]!);
  const bucket = (seconds: number) => FORWARDING_LATENCY_BOUNDS_SECONDS.indexOf(seconds as never);
  assert.equal(added[bucket(0.0001)], 3);
  assert.equal(added[bucket(0.005)], 1);
  assert.equal(added[FORWARDING_LATENCY_BOUNDS_SECONDS.length], 1);
  assert.equal(
    added.reduce((a, b) => a + b, 0),
    5,
  );
  assert.equal(after.count - before.count, 5);
  assert.ok(Math.abs(after.sumSeconds - before.sumSeconds - 2.00315) < 1e-9);
});

test('histograms add up bucket by bucket; a missing or malformed one counts as empty', () => {
  const a = emptyLatencyHistogram();
  a.counts[0] = 2;
  a.sumSeconds = 0.001;
  a.count = 2;
  const sum = addLatencyHistograms(a, { counts: [1, 1], sumSeconds: 0.5, count: 2 });
  assert.deepEqual(sum.counts.slice(0, 3), [3, 1, 0]);
  assert.equal(sum.count, 4);
  assert.equal(sum.sumSeconds, 0.501);
  assert.deepEqual(addLatencyHistograms(a, undefined), a);
  assert.deepEqual(addLatencyHistograms(a, { counts: 'x' } as never), a);
});
