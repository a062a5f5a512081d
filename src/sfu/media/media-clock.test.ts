import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mediaClock } from './media-clock.ts';

describe('mediaClock', () => {
  it('reads whole milliseconds, far from 0, in the small-integer range, never going back', async () => {
    const a = mediaClock.nowMs();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const b = mediaClock.nowMs();
    assert.ok(Number.isInteger(a) && Number.isInteger(b));
    assert.ok(a >= 1_000_000, 'a "never" kept as 0 is long ago');
    assert.ok(b < 2 ** 31);
    assert.ok(b - a >= 15 && b - a < 1000, `${b - a} ms`);
  });

  it('runs timers', async () => {
    let fired = false;
    const stop = mediaClock.setInterval(() => {
      fired = true;
    }, 5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    stop();
    assert.ok(fired);
  });
});
