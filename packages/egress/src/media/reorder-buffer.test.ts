import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReorderBuffer } from './reorder-buffer.ts';

function collect(options = { maxWaitMs: 150, maxPackets: 8 }) {
  const released: number[] = [];
  const losses: number[] = [];
  const buffer = new ReorderBuffer(
    options,
    (packet) => released.push(packet.readUInt16BE(0)),
    (missing) => losses.push(missing),
  );
  const push = (seq: number, nowMs = 0) => {
    const packet = Buffer.alloc(2);
    packet.writeUInt16BE(seq);
    buffer.push(seq, packet, nowMs);
  };
  return { buffer, released, losses, push };
}

describe('ReorderBuffer', () => {
  it('releases reordered packets in sequence order', () => {
    const { released, losses, push } = collect();
    for (const seq of [10, 12, 11, 14, 13, 15]) push(seq);
    assert.deepEqual(released, [10, 11, 12, 13, 14, 15]);
    assert.deepEqual(losses, []);
  });

  it('orders across the 16-bit wrap', () => {
    const { released, push } = collect();
    for (const seq of [65534, 0, 65535, 1]) push(seq);
    assert.deepEqual(released, [65534, 65535, 0, 1]);
  });

  it('waits for a missing packet, takes its retransmission, then gives up one that never comes', () => {
    const { buffer, released, losses, push } = collect();
    push(1, 0);
    push(3, 10);
    assert.deepEqual(released, [1]);
    buffer.poll(100);
    push(2, 120);
    assert.deepEqual(released, [1, 2, 3]);
    push(5, 200);
    buffer.poll(349);
    assert.deepEqual(losses, []);
    buffer.poll(350);
    assert.deepEqual(losses, [1]);
    assert.deepEqual(released, [1, 2, 3, 5]);
    assert.equal(buffer.lost, 1);
  });

  it('gives a gap up at once when too many packets wait behind it', () => {
    const { released, losses, push } = collect({ maxWaitMs: 10_000, maxPackets: 4 });
    push(0);
    for (const seq of [3, 4, 5, 6]) push(seq);
    assert.deepEqual(released, [0]);
    push(7);
    assert.deepEqual(losses, [2]);
    assert.deepEqual(released, [0, 3, 4, 5, 6, 7]);
  });

  it('drops duplicates and packets older than those released', () => {
    const { buffer, released, push } = collect();
    for (const seq of [5, 6, 6, 4, 7]) push(seq);
    assert.deepEqual(released, [5, 6, 7]);
    assert.equal(buffer.late, 2);
  });

  it('starts again when the sequence jumps by thousands (a restarted sender)', () => {
    const { released, losses, push } = collect();
    push(40_000);
    push(40_001);
    push(100);
    push(101);
    push(30_000);
    assert.deepEqual(released, [40_000, 40_001, 100, 101, 30_000]);
    assert.deepEqual(losses, [0, 0]);
  });
});
