import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../test/fakes/manual-clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { EndpointQueue, type EndpointQueueOptions, type EndpointStats } from './endpoint-queue.ts';
import type { Send, SendOutcome } from './http-sender.ts';

interface Call {
  body: string;
  atMs: number;
  signal: AbortSignal;
  answer(outcome: SendOutcome): void;
}

/** A receiver the test answers by hand: each attempt waits in `calls` until answered. */
function receiver(clock: ManualClock) {
  const calls: Call[] = [];
  const send: Send = (body, signal) =>
    new Promise((answer) => calls.push({ body, atMs: clock.nowMs(), signal, answer }));
  return { calls, send };
}

function recordingStats() {
  const counts = { sent: 0, failed: 0, retried: 0, disabled: 0, dropped: {} as Record<string, number> };
  const stats: EndpointStats = {
    sent: () => void counts.sent++,
    failed: () => void counts.failed++,
    retried: () => void counts.retried++,
    disabled: () => void counts.disabled++,
    dropped: (reason, n) => {
      counts.dropped[reason] = (counts.dropped[reason] ?? 0) + n;
    },
  };
  return { counts, stats };
}

function queue(clock: ManualClock, send: Send, stats: EndpointStats, o: Partial<EndpointQueueOptions> = {}) {
  return new EndpointQueue({
    send,
    clock,
    stats,
    logger: silentLogger(),
    maxQueued: 100,
    maxAttempts: 5,
    backoffMs: 500,
    disableAfterFailures: 10,
    disabledForMs: 60_000,
    ...o,
  });
}

/** Lets the promise continuations run (the queue's loops advance between answers). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const OK: SendOutcome = { ok: true };
const UNAVAILABLE: SendOutcome = { ok: false, retry: true, reason: 'status 503' };
const REFUSED: SendOutcome = { ok: false, retry: false, reason: 'status 400' };

/** Answers the call in flight and waits for the queue to move on. */
async function answer(calls: Call[], index: number, outcome: SendOutcome): Promise<void> {
  calls[index]!.answer(outcome);
  await settle();
}

describe('EndpointQueue', () => {
  it('retries a 5xx after 0.5, 1 and 2 s of backoff (fake clock) and then delivers it', async () => {
    const clock = new ManualClock(0);
    const { calls, send } = receiver(clock);
    const { counts, stats } = recordingStats();
    const q = queue(clock, send, stats);
    q.push('room-1', 'e1');
    for (const [i, wait] of [500, 1000, 2000].entries()) {
      await answer(calls, i, UNAVAILABLE);
      clock.advance(wait - 1);
      assert.equal(calls.length, i + 1, `no retry before ${wait} ms`);
      clock.advance(1);
      await settle();
    }
    await answer(calls, 3, OK);
    assert.deepEqual(
      calls.map((c) => c.atMs),
      [0, 500, 1500, 3500],
    );
    assert.deepEqual(
      { sent: counts.sent, retried: counts.retried, failed: counts.failed },
      {
        sent: 1,
        retried: 3,
        failed: 0,
      },
    );
  });

  it('gives an event up after 5 tries, and a 4xx at once', async () => {
    const clock = new ManualClock(0);
    const { calls, send } = receiver(clock);
    const { counts, stats } = recordingStats();
    const q = queue(clock, send, stats);
    q.push('room-1', 'e1');
    q.push('room-1', 'e2');
    for (let i = 0; i < 5; i++) {
      await answer(calls, i, UNAVAILABLE);
      clock.advance(10_000);
      await settle();
    }
    assert.equal(calls.filter((c) => c.body === 'e1').length, 5);
    await answer(calls, 5, REFUSED);
    assert.equal(calls[5]!.body, 'e2');
    clock.advance(60_000);
    await settle();
    assert.equal(calls.length, 6, 'a refused event is not retried');
    assert.deepEqual(
      { failed: counts.failed, retried: counts.retried, sent: counts.sent },
      {
        failed: 2,
        retried: 4,
        sent: 0,
      },
    );
  });

  it("sends a room's events one after another while a slow receiver holds one; other rooms go on", async () => {
    const clock = new ManualClock(0);
    const { calls, send } = receiver(clock);
    const { stats } = recordingStats();
    const q = queue(clock, send, stats);
    for (const body of ['a1', 'a2', 'a3']) q.push('room-a', body);
    q.push('room-b', 'b1');
    q.push('room-b', 'b2');
    await settle();
    assert.deepEqual(
      calls.map((c) => c.body),
      ['a1', 'b1'],
      'one event in flight per room',
    );
    await answer(calls, 1, OK);
    assert.deepEqual(
      calls.map((c) => c.body),
      ['a1', 'b1', 'b2'],
      'room-b does not wait for room-a',
    );
    await answer(calls, 0, UNAVAILABLE);
    clock.advance(500);
    await settle();
    assert.equal(calls[3]!.body, 'a1', 'a1 is retried before a2 is sent');
    await answer(calls, 3, OK);
    await answer(calls, 4, OK);
    await answer(calls, 2, OK);
    assert.deepEqual(
      calls.filter((c) => c.body.startsWith('a')).map((c) => c.body),
      ['a1', 'a1', 'a2', 'a3'],
    );
  });

  it('drops the oldest waiting event when the queue is full, and counts it', async () => {
    const clock = new ManualClock(0);
    const { calls, send } = receiver(clock);
    const { counts, stats } = recordingStats();
    const q = queue(clock, send, stats, { maxQueued: 3 });
    q.push('room-a', 'a1');
    q.push('room-a', 'a2');
    q.push('room-b', 'b1');
    await settle();
    q.push('room-a', 'a3');
    q.push('room-a', 'a4');
    q.push('room-a', 'a5');
    q.push('room-a', 'a6');
    assert.equal(q.length, 3, 'a4, a5, a6 wait (a1 and b1 are in flight)');
    assert.deepEqual(counts.dropped, { overflow: 2 });
    await answer(calls, 0, OK);
    await answer(calls, 2, OK);
    await answer(calls, 3, OK);
    await answer(calls, 4, OK);
    await answer(calls, 1, OK);
    assert.deepEqual(
      calls.map((c) => c.body),
      ['a1', 'b1', 'a4', 'a5', 'a6'],
      'a2 and a3 (the oldest waiting) were dropped',
    );
    assert.equal(q.length, 0);
  });

  it('disables an endpoint whose events keep failing, then tries it again after the pause', async () => {
    const clock = new ManualClock(0);
    const { calls, send } = receiver(clock);
    const { counts, stats } = recordingStats();
    const q = queue(clock, send, stats, { disableAfterFailures: 2, disabledForMs: 60_000 });
    for (const body of ['e1', 'e2', 'e3', 'e4']) q.push('room-1', body);
    await answer(calls, 0, REFUSED);
    await answer(calls, 1, REFUSED);
    assert.equal(q.disabled, true);
    assert.equal(counts.disabled, 1);
    assert.deepEqual(counts.dropped, { disabled: 2 }, 'e3 and e4 were dropped');
    q.push('room-1', 'e5');
    assert.deepEqual(counts.dropped, { disabled: 3 });
    clock.advance(60_000);
    q.push('room-1', 'e6');
    await settle();
    assert.deepEqual(
      calls.map((c) => c.body),
      ['e1', 'e2', 'e6'],
    );
    await answer(calls, 2, OK);
    assert.equal(counts.sent, 1);
  });

  it('flush() waits for the queue to drain; close() aborts what is in flight and counts the rest dropped', async () => {
    const clock = new ManualClock(0);
    const { calls, send } = receiver(clock);
    const { counts, stats } = recordingStats();
    const q = queue(clock, send, stats);
    q.push('room-1', 'e1');
    q.push('room-1', 'e2');
    let flushed: number | undefined;
    void q.flush(10_000).then((left) => (flushed = left));
    await answer(calls, 0, OK);
    assert.equal(flushed, undefined, 'e2 still to send');
    await answer(calls, 1, OK);
    assert.equal(flushed, 0);

    q.push('room-1', 'e3');
    q.push('room-1', 'e4');
    const late = q.flush(10_000);
    clock.advance(10_000);
    assert.equal(await late, 2, 'e3 in flight, e4 waiting at the deadline');
    const closed = q.close();
    assert.equal(calls[2]!.signal.aborted, true, 'the attempt in flight is aborted');
    await answer(calls, 2, { ok: false, retry: true, reason: 'AbortError' });
    await closed;
    assert.deepEqual(counts.dropped, { shutdown: 2 });
    q.push('room-1', 'e5');
    assert.deepEqual(counts.dropped, { shutdown: 3 });
    assert.equal(counts.sent, 2);
  });
});
