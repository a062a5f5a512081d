import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../test/fakes/manual-clock.ts';
import { KeyframeRequester } from './keyframe-requester.ts';

function setup() {
  const clock = new ManualClock();
  const sent: Array<{ ssrc: number; atMs: number }> = [];
  const requester = new KeyframeRequester({
    clock,
    minIntervalMs: 500,
    send: (ssrc) => sent.push({ ssrc, atMs: clock.nowMs() }),
  });
  return { clock, sent, requester };
}

describe('KeyframeRequester', () => {
  it('sends the first request at once, per stream', () => {
    const { sent, requester } = setup();
    requester.request(1);
    requester.request(2);
    assert.deepEqual(
      sent.map((s) => s.ssrc),
      [1, 2],
    );
  });

  it('coalesces requests inside the interval into one sent when it ends', () => {
    const { clock, sent, requester } = setup();
    requester.request(1);
    clock.advance(100);
    requester.request(1);
    requester.request(1);
    assert.equal(sent.length, 1);
    clock.advance(399);
    assert.equal(sent.length, 1);
    clock.advance(1);
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.atMs - sent[0]!.atMs, 500);
  });

  it('a keyframe arriving cancels the pending request', () => {
    const { clock, sent, requester } = setup();
    requester.request(1);
    clock.advance(100);
    requester.request(1);
    requester.keyframeReceived(1);
    clock.advance(1000);
    assert.equal(sent.length, 1);
  });

  it('close() cancels pending timers', () => {
    const { clock, sent, requester } = setup();
    requester.request(1);
    requester.request(1);
    requester.close();
    assert.equal(clock.pendingTimers, 0);
    clock.advance(1000);
    requester.request(1);
    assert.equal(sent.length, 1);
  });
});
