import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { Dynacast } from './dynacast.ts';

function started(stopDelayMs = 5000) {
  const clock = new ManualClock();
  const changes: boolean[][] = [];
  const dynacast = new Dynacast({
    clock,
    layerCount: 3,
    stopDelayMs,
    onLayersChanged: (a) => changes.push([...a]),
  });
  return { clock, changes, dynacast };
}

describe('Dynacast', () => {
  it('a layer nobody wants any more stops only after stopDelayMs', () => {
    const { clock, changes, dynacast } = started();
    dynacast.setSubscriberMaxLayer('alice', 2);
    dynacast.setSubscriberMaxLayer('bob', 1);
    dynacast.setSubscriberMaxLayer('alice', 0);
    clock.advance(4999);
    assert.deepEqual(changes, []);
    clock.advance(1);
    assert.deepEqual(changes, [[true, true, false]]);
    assert.deepEqual(dynacast.activeLayers, [true, true, false]);
  });

  it('demand coming back within the delay cancels the stop (hysteresis)', () => {
    const { clock, changes, dynacast } = started();
    dynacast.setSubscriberMaxLayer('alice', 2);
    dynacast.setSubscriberMaxLayer('alice', 0);
    clock.advance(3000);
    dynacast.setSubscriberMaxLayer('alice', 2);
    clock.advance(10_000);
    assert.deepEqual(changes, []);
  });

  it('a stopped layer resumes at once when a subscriber wants it', () => {
    const { clock, changes, dynacast } = started();
    dynacast.setSubscriberMaxLayer('alice', 0);
    clock.advance(5000);
    dynacast.setSubscriberMaxLayer('bob', 2);
    assert.deepEqual(changes, [
      [true, false, false],
      [true, true, true],
    ]);
  });

  it('each layer waits its own delay from when demand for it ended', () => {
    const { clock, changes, dynacast } = started();
    dynacast.setSubscriberMaxLayer('alice', 2);
    dynacast.setSubscriberMaxLayer('alice', 1);
    clock.advance(4000);
    dynacast.setSubscriberMaxLayer('alice', 0);
    clock.advance(1000);
    assert.deepEqual(changes, [[true, true, false]]);
    clock.advance(3999);
    assert.equal(changes.length, 1);
    clock.advance(1);
    assert.deepEqual(changes.at(-1), [true, false, false]);
  });

  it('removeSubscriber() and paused subscribers (-1) leave no demand: every layer stops', () => {
    const { clock, changes, dynacast } = started();
    dynacast.setSubscriberMaxLayer('alice', 2);
    dynacast.setSubscriberMaxLayer('bob', -1);
    dynacast.removeSubscriber('alice');
    clock.advance(5000);
    assert.deepEqual(changes, [[false, false, false]]);
  });

  it('without any subscriber, the layers stop after the delay from construction', () => {
    const { clock, changes } = started(2000);
    clock.advance(2000);
    assert.deepEqual(changes, [[false, false, false]]);
  });

  it('close() cancels a pending stop', () => {
    const { clock, changes, dynacast } = started();
    dynacast.close();
    assert.equal(clock.pendingTimers, 0);
    clock.advance(10_000);
    dynacast.setSubscriberMaxLayer('alice', 2);
    assert.deepEqual(changes, []);
  });
});
