import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PACE_MULTIPLIER, Pacer } from '../../bench/pacer.ts';

/** Drains every millisecond from `fromMs` to `toMs`; what left at which millisecond. */
function run(
  pacer: Pacer,
  fromMs: number,
  toMs: number,
): Array<{ atMs: number; bytes: number; stamp: boolean }> {
  const sent: Array<{ atMs: number; bytes: number; stamp: boolean }> = [];
  for (let t = fromMs; t <= toMs; t++)
    pacer.drain(t, (packet, stamp) => sent.push({ atMs: t, bytes: packet.length, stamp }));
  return sent;
}

describe('bench: the load publishers pace their video as a browser does', () => {
  it('a frame of a 1.5 Mbit/s layer leaves over several milliseconds, in order, not in one burst', () => {
    const pacer = new Pacer(1_500_000);
    const frame = Array.from({ length: 6 }, (_, i) => Buffer.alloc(1200, i));
    for (const [i, p] of frame.entries()) pacer.enqueue(p, i === frame.length - 1);
    const order: number[] = [];
    const times: number[] = [];
    for (let t = 0; t <= 20; t++)
      pacer.drain(t, (packet, stamp) => {
        order.push(packet[0]!);
        times.push(t);
        // Only the frame's last packet is stamped (its send time starts the receivers' latency).
        assert.equal(stamp, packet[0] === 5);
      });
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(pacer.queued, 0);
    // 7,200 bytes at 2.5 × 1.5 Mbit/s (469 bytes/ms) with a 5 ms burst allowance: about 10 ms.
    assert.ok(times[0] === 0 && times[5]! >= 8 && times[5]! <= 12, `left at ${times.join(',')}`);
    assert.ok(times.filter((t) => t === 0).length <= 2, 'at most the burst allowance at once');
  });

  it('sends at the multiple of the media rate when the queue never empties', () => {
    const mediaBps = 2_150_000;
    const pacer = new Pacer(mediaBps);
    for (let i = 0; i < 2000; i++) pacer.enqueue(Buffer.alloc(1000), false);
    const sent = run(pacer, 0, 200);
    const bytes = sent.reduce((n, s) => n + s.bytes, 0);
    const expected = ((mediaBps * PACE_MULTIPLIER) / 8 / 1000) * 205; // 200 ms + the first 5 ms burst
    assert.ok(Math.abs(bytes - expected) <= 2000, `${bytes} bytes against ${expected}`);
    assert.ok(pacer.queued > 0);
  });

  it('an idle pacer saves no more than the burst allowance', () => {
    const pacer = new Pacer(1_500_000);
    run(pacer, 0, 1000);
    for (let i = 0; i < 20; i++) pacer.enqueue(Buffer.alloc(1200), false);
    const sent = run(pacer, 1001, 1001);
    // 5 ms at 469 bytes/ms: two 1,200-byte packets leave (the second into debt), not twenty.
    assert.equal(sent.length, 2);
  });
});
