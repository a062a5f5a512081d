import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureThrottle } from './failure-throttle.ts';

function throttle(extra: { maxKeys?: number; forgetAfterMs?: number } = {}) {
  const clock = { ms: 1_000_000, nowMs: () => clock.ms };
  const t = new FailureThrottle({ freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 8000, clock, ...extra });
  return { t, clock };
}

describe('FailureThrottle', () => {
  it('the free failures cost nothing, then each failure doubles the wait up to the cap', () => {
    const { t } = throttle();
    assert.deepEqual(
      [1, 2, 3].map(() => t.fail('k')),
      [0, 0, 0],
    );
    assert.equal(t.retryAfterMs('k'), 0);
    assert.deepEqual(
      [4, 5, 6, 7, 8].map(() => t.fail('k')),
      [1000, 2000, 4000, 8000, 8000],
    );
    assert.equal(t.retryAfterMs('k'), 8000);
    assert.equal(t.retryAfterMs('other'), 0, 'keys are independent');
  });

  it('the wait runs out with time, and a success resets the key', () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 4; i++) t.fail('k');
    assert.equal(t.retryAfterMs('k'), 1000);
    clock.ms += 400;
    assert.equal(t.retryAfterMs('k'), 600);
    clock.ms += 600;
    assert.equal(t.retryAfterMs('k'), 0);
    assert.equal(t.fail('k'), 2000, 'the count is kept after the wait');
    t.succeed('k');
    assert.equal(t.retryAfterMs('k'), 0);
    assert.equal(t.fail('k'), 0, 'free again after a success');
  });

  it('sweep() forgets quiet unblocked keys; a quiet key starts again from zero', () => {
    const { t, clock } = throttle({ forgetAfterMs: 60_000 });
    for (let i = 0; i < 5; i++) t.fail('a');
    t.fail('b');
    clock.ms += 30_000;
    assert.equal(t.sweep(), 2, 'not quiet long enough');
    clock.ms += 30_001;
    assert.equal(t.sweep(), 0);
    for (let i = 0; i < 5; i++) t.fail('c');
    clock.ms += 60_001;
    assert.equal(t.fail('c'), 0, 'a failure after a quiet period counts from zero');
  });

  it('keeps at most maxKeys keys, dropping the oldest first', () => {
    const { t } = throttle({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) for (let i = 0; i < 4; i++) t.fail(key);
    assert.equal(t.size, 3);
    assert.equal(t.retryAfterMs('a'), 0, 'the oldest key went');
    assert.equal(t.retryAfterMs('d'), 1000);
  });
});
