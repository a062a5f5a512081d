import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  av1CodecString,
  H264ParameterSets,
  h264CodecString,
  vp8KeyframeSize,
  vp9CodecString,
} from './codec-string.ts';

const SPS = Buffer.from([0x67, 0x42, 0xe0, 0x1f, 0xda, 0x02]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const IDR = Buffer.from([0x65, 0x88, 0x84]);

function avcc(...units: Buffer[]): Buffer {
  return Buffer.concat(units.flatMap((nal) => [Buffer.from([0, 0, 0, nal.length]), nal]));
}

describe('codec strings', () => {
  it('builds avc1.PPCCLL from the SPS, with a baseline fallback', () => {
    assert.equal(h264CodecString([SPS, PPS]), 'avc1.42e01f');
    assert.equal(h264CodecString([Buffer.from([0x67, 0x64, 0x00, 0x28])]), 'avc1.640028');
    assert.equal(h264CodecString([IDR]), 'avc1.42e01f');
  });

  it('turns AVCC into Annex B and gives an IDR without in-band SPS/PPS the last ones seen', () => {
    const sets = new H264ParameterSets();
    const first = sets.toAnnexB(avcc(SPS, PPS, IDR), true);
    assert.deepEqual(first, Buffer.concat([SPS, PPS, IDR].flatMap((n) => [Buffer.from([0, 0, 0, 1]), n])));
    const later = sets.toAnnexB(avcc(IDR), true);
    assert.deepEqual(later, first);
    const delta = sets.toAnnexB(avcc(Buffer.from([0x41, 0x9a])), false);
    assert.deepEqual(delta, Buffer.from([0, 0, 0, 1, 0x41, 0x9a]));
  });

  it('reads the VP8 keyframe size and the VP9 profile', () => {
    const vp8 = Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
    assert.deepEqual(vp8KeyframeSize(vp8), { width: 320, height: 240 });
    assert.equal(vp8KeyframeSize(Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0])), null);
    // frame_marker 10, profile 0, keyframe.
    assert.equal(vp9CodecString(Buffer.from([0x82, 0x49, 0x83, 0x42]), 640, 360), 'vp09.00.21.08');
  });

  it('reads profile and level from an AV1 sequence header OBU', () => {
    // OBU header: type 1 with a size; seq_profile 0, still 0, reduced 1, seq_level_idx 13 (5.1).
    assert.equal(av1CodecString(Buffer.from([0x0a, 0x02, 0b00001011, 0b01000000])), 'av01.0.13M.08');
    assert.equal(av1CodecString(Buffer.from([0x32, 0x00])), 'av01.0.08M.08', 'no sequence header: default');
  });
});
