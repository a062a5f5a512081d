import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterArrival } from './inter-arrival.ts';
import { OveruseDetector } from './overuse-detector.ts';
import { TrendlineEstimator } from './trendline-estimator.ts';

describe('OveruseDetector', () => {
  it('detect() reports overuse only once the trend stays above the threshold for over 10 ms, twice', () => {
    const d = new OveruseDetector();
    assert.equal(d.detect(20, 0.1, 5, 0), 'normal', '2.5 ms of overuse so far');
    assert.equal(d.detect(20, 0.1, 5, 5), 'normal', '7.5 ms');
    assert.equal(d.detect(20, 0.1, 5, 10), 'overusing');
  });

  it('detect() reports underuse below minus the threshold, normal in between', () => {
    const d = new OveruseDetector();
    assert.equal(d.detect(-20, -0.1, 5, 0), 'underusing');
    assert.equal(d.detect(1, 0, 5, 5), 'normal');
  });

  it('the threshold rises slowly towards a larger trend and ignores spikes', () => {
    const d = new OveruseDetector();
    const initial = d.threshold;
    d.detect(20, 0.1, 5, 0);
    d.detect(20, 0.1, 5, 100);
    assert.ok(d.threshold > initial && d.threshold < 20, `threshold ${d.threshold}`);
    const before = d.threshold;
    d.detect(500, 1, 5, 200);
    assert.equal(d.threshold, before, 'a spike beyond threshold + 15 does not move it');
  });
});

describe('InterArrival and TrendlineEstimator', () => {
  it('add() yields one delta per 5 ms group of sent packets', () => {
    const ia = new InterArrival();
    assert.equal(ia.add(0, 100), undefined);
    assert.equal(ia.add(3, 104), undefined, 'same group');
    assert.equal(ia.add(10, 112), undefined, 'closes the first group; no previous yet');
    const d = ia.add(20, 125);
    assert.deepEqual({ ...d }, { sendDeltaMs: 7, arrivalDeltaMs: 8, arrivalMs: 112 });
  });

  it('update() turns a steadily growing delay into overuse, and a steady one into normal', () => {
    const growing = new TrendlineEstimator();
    const steady = new TrendlineEstimator();
    const verdicts = new Set<string>();
    for (let i = 1; i <= 60; i++) {
      verdicts.add(growing.update({ sendDeltaMs: 10, arrivalDeltaMs: 12, arrivalMs: i * 12 }));
      steady.update({ sendDeltaMs: 10, arrivalDeltaMs: 10, arrivalMs: i * 10 });
    }
    assert.ok(verdicts.has('overusing'));
    assert.ok(growing.trend > 0);
    assert.equal(steady.usage, 'normal');
  });
});
