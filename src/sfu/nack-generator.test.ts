import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NackGenerator } from './nack-generator.ts';

function collect(g: NackGenerator, nowMs: number, rttMs = 50): Array<[number, number[]]> {
  const out: Array<[number, number[]]> = [];
  g.collect(nowMs, rttMs, (ssrc, seqs) => out.push([ssrc, seqs]));
  return out;
}

describe('NackGenerator', () => {
  it('asks for a gap after the reordering wait, again each round trip, and no more once it arrived', () => {
    const g = new NackGenerator();
    g.onPacket(7, 100, 0);
    assert.equal(g.onPacket(7, 103, 0), true, 'a gap');
    assert.deepEqual(collect(g, 5), [], 'maybe only reordered: wait');
    assert.deepEqual(collect(g, 10), [[7, [101, 102]]]);
    assert.deepEqual(collect(g, 30), [], 'asked within the round trip');
    assert.equal(g.onPacket(7, 101, 40), false, 'late or repaired');
    assert.deepEqual(collect(g, 60), [[7, [102]]]);
    assert.equal(g.pending(7), true);
    g.onPacket(7, 102, 70);
    assert.equal(g.pending(7), false);
    assert.equal(g.lost, 2);
    assert.equal(g.asked, 3);
  });

  it('gives up after ten asks or a second, across the sequence number wrap', () => {
    const g = new NackGenerator();
    g.onPacket(1, 0xfffe, 0);
    g.onPacket(1, 1, 0);
    const asked: number[][] = [];
    for (let t = 10; t <= 1200; t += 50) for (const [, seqs] of collect(g, t)) asked.push(seqs);
    assert.deepEqual(asked[0], [0xffff, 0]);
    assert.equal(asked.length, 10, 'ten times at most');
    assert.equal(g.pending(1), false, 'then given up');
    const h = new NackGenerator();
    h.onPacket(2, 10, 0);
    h.onPacket(2, 12, 0);
    assert.deepEqual(collect(h, 1001, 2000), [], 'older than a second: given up unasked');
  });

  it('a jump of more than 500 is a restart, not loss; a stream forgotten starts over', () => {
    const g = new NackGenerator();
    g.onPacket(3, 10, 0);
    assert.equal(g.onPacket(3, 5000, 0), false);
    assert.deepEqual(collect(g, 100), []);
    g.forget(3);
    assert.equal(g.onPacket(3, 9, 0), false);
  });
  it('onRetransmission() tells a repair (the packet was missing) from a duplicate', () => {
    const g = new NackGenerator();
    assert.equal(g.onRetransmission(5, 1), false, 'unknown stream');
    g.onPacket(5, 10, 0);
    g.onPacket(5, 12, 0);
    assert.equal(g.onRetransmission(5, 10), false, 'received already');
    assert.equal(g.onRetransmission(5, 13), false, 'not sent yet');
    assert.equal(g.onRetransmission(5, 11), true, 'missing: a repair');
    assert.equal(g.onRetransmission(5, 11), false, 'repaired once');
    assert.equal(g.pending(5), false);
  });
});
