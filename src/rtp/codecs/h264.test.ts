import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { H264Nal, h264NalType, isH264Keyframe } from './h264.ts';

describe('H.264 keyframes (RFC 6184)', () => {
  it('single NAL units: IDR and SPS are keyframes, others are not', () => {
    assert.equal(isH264Keyframe(Buffer.from([0x65, 0x88])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x67, 0x42])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x41, 0x9a])), false);
    assert.equal(isH264Keyframe(Buffer.from([0x68, 0xce])), false, 'PPS alone');
  });

  it('STAP-A: an aggregated SPS or IDR; a size past the payload stops the walk', () => {
    const stap = Buffer.from([0x78, 0x00, 0x02, 0x09, 0xf0, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68]);
    assert.equal(isH264Keyframe(stap), true);
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0x00, 0x02, 0x09, 0xf0, 0x00, 0x02, 0x41, 0x00])), false);
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0x00, 0x09, 0x67, 0x42])), false, 'overrun');
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0xff])), false);
  });

  it('FU-A: the start fragment of an IDR, not its continuation', () => {
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x85])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x05])), false);
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x81])), false, 'start of a non-IDR slice');
    assert.equal(isH264Keyframe(Buffer.from([0x7c])), false);
  });

  it('NAL type, offsets and bounds', () => {
    assert.equal(h264NalType(Buffer.from([0x7c, 0x85])), H264Nal.IDR, 'the fragmented unit');
    assert.equal(h264NalType(Buffer.from([0x78])), H264Nal.STAP_A);
    assert.equal(h264NalType(Buffer.alloc(0)), -1);
    assert.equal(isH264Keyframe(Buffer.from([0x41, 0x65]), 1), true);
    assert.equal(isH264Keyframe(Buffer.from([0x65]), 0, 0), false);
    for (let i = 0; i < 3000; i++) isH264Keyframe(randomBytes(i % 16));
  });
});
