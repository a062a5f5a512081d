import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from './rate-limiter.ts';

describe('RateLimiter', () => {
  it('take() allows the burst, then the rate', () => {
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 3 });
    const t = 1_000_000;
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.take('a', t)),
      [true, true, true, false],
    );
    assert.equal(limiter.take('b', t), true, 'keys are independent');
    assert.equal(limiter.take('a', t + 99), false);
    assert.equal(limiter.take('a', t + 100), true, 'one token after 100 ms at 10/s');
  });

  it('sweep() forgets refilled buckets only', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2 });
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('b', 0);
    assert.equal(limiter.sweep(1000), 1, 'a refilled after 1 s, b still owes a token');
    assert.equal(limiter.sweep(2000), 0);
  });

  it('waitMs() is the time until the next token', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1 / 60, burst: 1 });
    assert.equal(limiter.waitMs('a', 0), 0, 'an unknown key waits for nothing');
    limiter.take('a', 0);
    assert.equal(limiter.waitMs('a', 0), 60_000);
    assert.equal(limiter.waitMs('a', 30_000), 30_000);
    assert.equal(limiter.waitMs('a', 60_000), 0);
  });
});
