import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { halfLoadStep } from '../../bench/first-frame.ts';
import type { StepResult } from '../../bench/step-types.ts';

/** The fields the step choice reads; the rest of a step's figures do not matter to it. */
function step(system: string, size: number, outPps: number, perCore: number, loss = 0): StepResult {
  return { system, scenario: 'fanout', size, out_pps: outPps, out_pps_per_core: perCore, loss } as StepResult;
}

describe('bench: the first-frame step', () => {
  it('is the bbmeet fan-out step forwarding closest to half the headline step (most packets/s per core, clean)', () => {
    const results = [
      step('bbmeet', 16, 3_000, 40_000),
      step('bbmeet', 64, 12_000, 60_000),
      step('bbmeet', 128, 24_000, 70_000),
      step('bbmeet', 256, 40_000, 80_000, 0.05),
      step('raw_udp', 64, 12_500, 90_000),
    ];
    // Headline: 128 (256 loses 5 %); half its 24k packets/s is 12k: the 64 step.
    assert.equal(halfLoadStep(results)?.size, 64);
  });

  it('a single fan-out step is its own half-load step; none without one', () => {
    assert.equal(halfLoadStep([step('bbmeet', 16, 3_000, 40_000)])?.size, 16);
    assert.equal(halfLoadStep([step('raw_udp', 16, 3_000, 40_000)]), undefined);
  });
});
