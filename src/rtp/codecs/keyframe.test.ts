import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isH264Keyframe, isVp8Keyframe, isVp9Keyframe, keyframeDetector } from './keyframe.ts';

describe('keyframe detection', () => {
  it('VP8: S=1, PID=0 and the P bit clear, with and without extensions', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x10, 0x00])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x10, 0x01])), false, 'inter frame');
    assert.equal(isVp8Keyframe(Buffer.from([0x00, 0x00])), false, 'not the start of a partition');
    // X with I (15-bit picture id), L, T/K: descriptor of 5 bytes.
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x00])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0xe0, 0x80])), false, 'truncated');
  });

  it('H264: IDR, SPS, STAP-A containing SPS, FU-A start of IDR', () => {
    assert.equal(isH264Keyframe(Buffer.from([0x65, 0])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x67, 0])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x41, 0])), false);
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x85])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x05])), false, 'FU-A continuation');
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0xff])), false, 'truncated STAP-A');
  });

  it('VP9: B=1 and P=0 (spatial layer 0 when layers are signalled)', () => {
    assert.equal(isVp9Keyframe(Buffer.from([0x08])), true);
    assert.equal(isVp9Keyframe(Buffer.from([0x48])), false, 'inter-picture predicted');
    assert.equal(isVp9Keyframe(Buffer.from([0xa8, 0x80, 0x01, 0x00, 0x07])), true, 'I + L, spatial 0');
    assert.equal(isVp9Keyframe(Buffer.from([0xa8, 0x80, 0x01, 0x02, 0x07])), false, 'spatial layer 1');
  });

  it('keyframeDetector() picks by mime type', () => {
    assert.equal(keyframeDetector('video/VP8'), isVp8Keyframe);
    assert.equal(keyframeDetector('h264'), isH264Keyframe);
    assert.equal(keyframeDetector('audio/opus'), undefined);
  });
});
