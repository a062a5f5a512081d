import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addHistograms, emptyHistogram, WorkerHistogram } from './worker-histogram.ts';

const BOUNDS = [0.0001, 0.001, 0.005, 1];

test('observations land in the first bucket whose bound holds them; the rest above every bound', () => {
  const h = new WorkerHistogram(BOUNDS);
  h.observe(0.00005); // ≤ 0.1 ms
  h.observe(0.0001); // = 0.1 ms: that bucket (le is inclusive)
  h.observe(0.003); // ≤ 5 ms
  h.observe(2); // above 1 s
  h.observe(Number.NaN); // counted as 0
  h.observe(-1); // a clock read backwards: 0
  const s = h.snapshot();
  assert.deepEqual(s.counts, [4, 0, 1, 0, 1]);
  assert.equal(s.count, 6);
  assert.ok(Math.abs(s.sum - 2.00315) < 1e-9);
});

test('a snapshot is a copy: later observations do not change it', () => {
  const h = new WorkerHistogram(BOUNDS);
  h.observe(0.002);
  const before = h.snapshot();
  h.observe(0.002);
  assert.equal(before.count, 1);
  assert.equal(h.snapshot().count, 2);
});

test('histograms add up bucket by bucket; a missing or malformed one counts as empty', () => {
  const a = emptyHistogram(BOUNDS);
  a.counts[0] = 2;
  a.sum = 0.001;
  a.count = 2;
  const sum = addHistograms(BOUNDS, a, { counts: [1, 1], sum: 0.5, count: 2 });
  assert.deepEqual(sum.counts, [3, 1, 0, 0, 0]);
  assert.equal(sum.count, 4);
  assert.equal(sum.sum, 0.501);
  assert.deepEqual(addHistograms(BOUNDS, a, undefined), a);
  assert.deepEqual(addHistograms(BOUNDS, a, { counts: 'x' } as never), a);
});
