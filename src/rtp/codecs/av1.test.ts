import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Av1ObuType, isAv1Keyframe, newAv1AggregationHeader, parseAv1, readLeb128 } from './av1.ts';
import { keyframeDetector } from './keyframe.ts';

/** OBU header byte: type, no extension, no size field (as in RTP, §5). */
const obu = (type: number) => type << 3;

describe('AV1 RTP aggregation header', () => {
  it('N = 1, Z = 0 (first packet of a coded video sequence, W = 1): a keyframe starting with its sequence header', () => {
    const h = newAv1AggregationHeader();
    const payload = Buffer.from([0x18, obu(Av1ObuType.SequenceHeader), 0x00, 0x00, 0x00]);
    assert.equal(parseAv1(payload, h), true);
    assert.equal(h.continuesFragment, false);
    assert.equal(h.continuesInNextPacket, false);
    assert.equal(h.obuElementCount, 1);
    assert.equal(h.newCodedVideoSequence, true);
    assert.equal(h.firstObuType, Av1ObuType.SequenceHeader);
    assert.equal(h.isKeyframe, true);
    assert.equal(isAv1Keyframe(payload), true);
  });

  it('W = 2: the first element carries a LEB128 length, its OBU header follows', () => {
    const h = newAv1AggregationHeader();
    // Z=0 Y=1 W=2 N=1; element 1: length 3, sequence header; element 2 (no length): frame.
    const payload = Buffer.from([0x68, 0x03, obu(1), 0xaa, 0xbb, obu(Av1ObuType.Frame), 0xcc]);
    assert.equal(parseAv1(payload, h), true);
    assert.equal(h.continuesInNextPacket, true);
    assert.equal(h.obuElementCount, 2);
    assert.equal(h.firstObuType, Av1ObuType.SequenceHeader);
    assert.equal(h.isKeyframe, true);
  });

  it('N = 0: a packet of an inter frame, or a later packet of the keyframe, is not a keyframe', () => {
    const h = newAv1AggregationHeader();
    assert.equal(parseAv1(Buffer.from([0x10, obu(Av1ObuType.Frame), 0x01]), h), true);
    assert.equal(h.firstObuType, Av1ObuType.Frame);
    assert.equal(h.isKeyframe, false);
    // Z=1, Y=1: the middle of a fragmented OBU.
    assert.equal(parseAv1(Buffer.from([0xd0, 0x12, 0x34]), h), true);
    assert.equal(h.continuesFragment, true);
    assert.equal(h.firstObuType, -1, 'no OBU header here, only fragment bytes');
    assert.equal(h.isKeyframe, false);
  });

  it('N = 1 with Z = 1 is invalid (§4.4) and not taken for a keyframe', () => {
    assert.equal(isAv1Keyframe(Buffer.from([0x98, 0x00, 0x00])), false);
  });

  it('bounds: empty, header only, truncated or oversized lengths, forbidden bit', () => {
    assert.equal(isAv1Keyframe(Buffer.alloc(0)), false);
    assert.equal(parseAv1(Buffer.alloc(0), newAv1AggregationHeader()), false);
    assert.equal(isAv1Keyframe(Buffer.from([0x18])), false, 'no OBU after the header');
    assert.equal(isAv1Keyframe(Buffer.from([0x08, 0x80])), false, 'LEB128 length cut short');
    assert.equal(isAv1Keyframe(Buffer.from([0x08, 0x09, obu(1), 0x00])), false, 'length past the end');
    assert.equal(isAv1Keyframe(Buffer.from([0x08, 0x00, obu(1)])), false, 'empty first element');
    assert.equal(isAv1Keyframe(Buffer.from([0x18, 0x80 | obu(1)])), false, 'forbidden bit set');
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(Math.floor(Math.random() * 12));
      const h = newAv1AggregationHeader();
      parseAv1(junk, h);
      assert.ok(h.firstObuType >= -1 && h.firstObuType <= 15);
    }
  });

  it('reads the payload region [offset, end) of a whole RTP packet', () => {
    const packet = Buffer.concat([
      Buffer.alloc(12, 0xff),
      Buffer.from([0x18, obu(1), 0x00]),
      Buffer.alloc(4, 0),
    ]);
    assert.equal(isAv1Keyframe(packet, 12, 15), true);
    assert.equal(isAv1Keyframe(packet, 12, 13), false, 'the OBU lies beyond `end`');
    assert.equal(isAv1Keyframe(packet, 20, 19), false);
    assert.equal(isAv1Keyframe(packet, 0, packet.length + 1), false);
  });

  it('LEB128: one to eight bytes, little-endian groups of seven bits', () => {
    assert.deepEqual(readLeb128(Buffer.from([0x05]), 0, 1), { value: 5, next: 1 });
    assert.deepEqual(readLeb128(Buffer.from([0xe5, 0x8e, 0x26]), 0, 3), { value: 624_485, next: 3 });
    assert.equal(readLeb128(Buffer.alloc(9, 0x80), 0, 9), undefined, 'more than eight bytes');
  });

  it('keyframeDetector() knows AV1 by mime type', () => {
    assert.equal(keyframeDetector('video/AV1'), isAv1Keyframe);
    assert.equal(keyframeDetector('av1'), isAv1Keyframe);
  });
});
