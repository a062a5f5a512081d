import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RtpMunger } from './rtp-munger.ts';

describe('RtpMunger', () => {
  it('passes the first source through unchanged', () => {
    const m = new RtpMunger();
    assert.deepEqual(m.forward(1, 100, 5000), { sequenceNumber: 100, timestamp: 5000 });
    assert.deepEqual(m.forward(1, 101, 8000), { sequenceNumber: 101, timestamp: 8000 });
  });

  it('a source switch continues the sequence at +1 and the timestamp one frame later', () => {
    const m = new RtpMunger({ switchTimestampStep: 3000 });
    m.forward(1, 100, 5000);
    m.forward(1, 101, 8000);
    assert.deepEqual(m.forward(2, 40_000, 123_456), { sequenceNumber: 102, timestamp: 11_000 });
    assert.deepEqual(m.forward(2, 40_001, 126_456), { sequenceNumber: 103, timestamp: 14_000 });
  });

  it('wraps sequence numbers and timestamps', () => {
    const m = new RtpMunger();
    m.forward(1, 65_534, 0xffff_fff0);
    assert.deepEqual(m.forward(1, 65_535, 0xffff_fff8), { sequenceNumber: 65_535, timestamp: 0xffff_fff8 });
    assert.deepEqual(m.forward(1, 0, 0x10), { sequenceNumber: 0, timestamp: 0x10 });
    assert.deepEqual(m.forward(2, 7, 99), { sequenceNumber: 1, timestamp: (0x10 + 3000) >>> 0 });
  });

  it('dropped packets leave no gap', () => {
    const m = new RtpMunger();
    m.forward(1, 10, 0);
    m.drop(1, 11);
    m.drop(1, 12);
    assert.deepEqual(m.forward(1, 13, 3000), { sequenceNumber: 11, timestamp: 3000 });
  });

  it('a late packet of the current source keeps its place; one from before a switch is refused', () => {
    const m = new RtpMunger();
    m.forward(1, 10, 0);
    m.forward(1, 12, 100);
    assert.deepEqual(
      m.forward(1, 11, 50),
      { sequenceNumber: 11, timestamp: 50 },
      'reordered within the source',
    );
    m.forward(2, 500, 9000);
    assert.equal(m.forward(2, 499, 8000), undefined, 'older than the first packet after the switch');
  });

  it('a late packet does not move the last sequence number back', () => {
    const m = new RtpMunger();
    m.forward(1, 10, 0);
    m.forward(1, 12, 100);
    m.forward(1, 11, 50);
    assert.equal(m.lastSequenceNumber, 12);
    assert.equal(m.lastTimestamp, 100);
  });
  it('forwards a late (repaired) packet at its place, unless a drop moved the offset after it', () => {
    const m = new RtpMunger();
    m.forward(1, 100, 0);
    m.forward(1, 102, 3000);
    assert.equal(m.forward(1, 101, 3000)?.sequenceNumber, 101, 'the gap filled');
    m.drop(1, 103);
    m.forward(1, 104, 6000);
    assert.equal(m.forward(1, 102, 3000), undefined, 'from before the drop: its place is taken');
    m.forward(1, 106, 9000);
    assert.equal(m.forward(1, 105, 9000)?.sequenceNumber, 104, 'after the drop: shifted like its neighbours');
  });

  it('a late copy of the dropped packet is refused: it would take the sequence number of the packet before it', () => {
    const m = new RtpMunger();
    m.forward(1, 100, 0);
    m.drop(1, 101);
    assert.equal(m.forward(1, 101, 3000), undefined, 'right after the drop');
    m.forward(1, 102, 6000);
    assert.equal(m.forward(1, 101, 3000), undefined, 'after the next packet');
    assert.equal(
      m.forward(1, 102, 6000)?.sequenceNumber,
      101,
      'a copy of a forwarded packet keeps its number',
    );
  });

  it('resume() after withheld packets: the next packet continues the sequence, timestamps keep their offset', () => {
    const m = new RtpMunger();
    m.forward(1, 100, 5000);
    m.forward(1, 101, 8000);
    // 102..399 withheld (an operator's mute), then forwarding resumes.
    m.resume();
    assert.deepEqual(m.forward(1, 400, 905_000), { sequenceNumber: 102, timestamp: 905_000 });
    assert.deepEqual(m.forward(1, 401, 908_000), { sequenceNumber: 103, timestamp: 908_000 });
    assert.equal(m.forward(1, 399, 902_000), undefined, 'a withheld packet arriving late has no place');
    m.drop(1, 402);
    assert.deepEqual(m.forward(1, 403, 911_000), { sequenceNumber: 104, timestamp: 911_000 });
  });

  it('resume() before anything was forwarded, or followed by a switch, changes nothing else', () => {
    const fresh = new RtpMunger();
    fresh.resume();
    assert.deepEqual(fresh.forward(1, 500, 7000), { sequenceNumber: 500, timestamp: 7000 });
    const m = new RtpMunger({ switchTimestampStep: 3000 });
    m.forward(1, 100, 5000);
    m.resume();
    assert.deepEqual(m.forward(2, 9000, 1), { sequenceNumber: 101, timestamp: 8000 });
    assert.deepEqual(m.forward(2, 9001, 3001), { sequenceNumber: 102, timestamp: 11_000 });
  });
});
