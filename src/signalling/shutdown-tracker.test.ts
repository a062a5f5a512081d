import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShutdownTracker } from './shutdown-tracker.ts';

function deferred(): { promise: Promise<void>; resolve(): void; reject(err: Error): void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ShutdownTracker', () => {
  it('settled() waits for tracked work, also work tracked while it waits', async () => {
    const tracker = new ShutdownTracker();
    const first = deferred();
    const second = deferred();
    tracker.track(first.promise);
    const settled = tracker.settled(5000);
    tracker.track(second.promise);
    first.resolve();
    await new Promise((r) => setImmediate(r));
    assert.equal(tracker.pending, 1);
    second.resolve();
    assert.equal(await settled, 0);
  });

  it('settled() gives up at the deadline and says how much is still running', async () => {
    const tracker = new ShutdownTracker();
    tracker.track(new Promise(() => undefined));
    assert.equal(await tracker.settled(20), 1);
  });

  it('a rejected piece of work is forgotten like a finished one', async () => {
    const tracker = new ShutdownTracker();
    const work = deferred();
    const observed = work.promise.catch(() => 'handled by its owner');
    tracker.track(observed);
    work.reject(new Error('leave failed'));
    assert.equal(await tracker.settled(1000), 0);
  });
});
