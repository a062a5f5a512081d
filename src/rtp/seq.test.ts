import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSeqNewer, isTimestampNewer, SeqUnwrapper, seqAdd, seqDiff, timestampDiff } from './seq.ts';

describe('sequence numbers', () => {
  it('seqDiff() is the signed distance across the wrap', () => {
    assert.equal(seqDiff(5, 3), 2);
    assert.equal(seqDiff(3, 5), -2);
    assert.equal(seqDiff(0, 65_535), 1);
    assert.equal(seqDiff(65_535, 0), -1);
    assert.equal(seqDiff(100, 100), 0);
    assert.equal(seqDiff(0x8000, 0), -0x8000);
    assert.equal(seqDiff(0x7fff, 0), 0x7fff);
  });

  it('isSeqNewer() follows the half-space rule, ties broken by the larger value', () => {
    assert.equal(isSeqNewer(1, 0), true);
    assert.equal(isSeqNewer(0, 1), false);
    assert.equal(isSeqNewer(0, 65_535), true);
    assert.equal(isSeqNewer(65_535, 0), false);
    assert.equal(isSeqNewer(7, 7), false);
    assert.equal(isSeqNewer(0x8000, 0), true);
    assert.equal(isSeqNewer(0, 0x8000), false);
  });

  it('seqAdd() wraps both ways', () => {
    assert.equal(seqAdd(65_535, 1), 0);
    assert.equal(seqAdd(0, -1), 65_535);
    assert.equal(seqAdd(10, 70_000), (10 + 70_000) & 0xffff);
  });

  it('timestamps: signed 32-bit distance and newer-than across the wrap', () => {
    assert.equal(timestampDiff(10, 0xfffffff6), 20);
    assert.equal(timestampDiff(0xfffffff6, 10), -20);
    assert.equal(timestampDiff(90_000, 0), 90_000);
    assert.equal(isTimestampNewer(5, 0xffffffff), true);
    assert.equal(isTimestampNewer(0xffffffff, 5), false);
    assert.equal(isTimestampNewer(0x80000000, 0), true);
    assert.equal(isTimestampNewer(0, 0x80000000), false);
    assert.equal(isTimestampNewer(3, 3), false);
  });
});

describe('SeqUnwrapper', () => {
  it('extends across several wraps, in order', () => {
    const u = new SeqUnwrapper();
    assert.equal(u.highest, -1);
    let expected = 65_000;
    for (let i = 0; i < 200_000; i += 1000, expected += 1000)
      assert.equal(u.unwrap((65_000 + i) & 0xffff), expected);
    assert.equal(u.highest, expected - 1000);
  });

  it('places reordered packets before the newest, across a wrap, without moving the reference', () => {
    const u = new SeqUnwrapper();
    assert.equal(u.unwrap(65_534), 65_534);
    assert.equal(u.unwrap(2), 65_538);
    assert.equal(u.unwrap(65_535), 65_535, 'late packet from before the wrap');
    assert.equal(u.unwrap(3), 65_539);
    assert.equal(u.unwrap(10, false), 65_546, 'peek');
    assert.equal(u.highest, 65_539);
  });

  it('a packet older than the first across a wrap goes below zero; reset() starts over', () => {
    const u = new SeqUnwrapper();
    assert.equal(u.unwrap(1), 1);
    assert.equal(u.unwrap(65_535), -1);
    u.reset();
    assert.equal(u.unwrap(65_535), 65_535);
  });
});
