import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVp9Keyframe, newVp9Descriptor, parseVp9 } from './vp9.ts';

describe('VP9 payload descriptor (RFC 9628 §4.2)', () => {
  it('non-flexible mode: I (15-bit), L with TL0PICIDX, B/E', () => {
    const d = newVp9Descriptor();
    // I|L|B|E, picture id 0x0123, TID 1 U SID 0 D 0, TL0PICIDX 7, then payload.
    assert.equal(parseVp9(Buffer.from([0xac, 0x81, 0x23, 0x30, 0x07, 0xaa]), d), true);
    assert.equal(d.descriptorBytes, 5);
    assert.equal(d.pictureId, 0x123);
    assert.equal(d.pictureIdBits, 15);
    assert.equal(d.tid, 1);
    assert.equal(d.switchingUp, true);
    assert.equal(d.sid, 0);
    assert.equal(d.tl0PicIdx, 7);
    assert.equal(d.startOfFrame, true);
    assert.equal(d.endOfFrame, true);
    assert.equal(d.isKeyframe, true);
  });

  it('flexible mode: layer indices without TL0PICIDX, up to three P_DIFFs', () => {
    const d = newVp9Descriptor();
    // I|P|L|F|B, 7-bit picture id 5, TID 0 SID 1 D, P_DIFF 1 (N), P_DIFF 2.
    assert.equal(parseVp9(Buffer.from([0xf8, 0x05, 0x03, 0x03, 0x04, 0x00]), d), true);
    assert.equal(d.descriptorBytes, 5);
    assert.equal(d.flexibleMode, true);
    assert.equal(d.sid, 1);
    assert.equal(d.interLayerDependency, true);
    assert.equal(d.tl0PicIdx, -1);
    assert.equal(d.referenceCount, 2);
    assert.equal(d.isKeyframe, false);
    assert.equal(parseVp9(Buffer.from([0xd8, 0x05, 0x03, 0x05, 0x07, 0x00]), d), false, 'a fourth P_DIFF');
  });

  it('scalability structure: sizes (Y) and picture groups (G)', () => {
    const d = newVp9Descriptor();
    // B|V, SS: N_S = 1 (2 layers), Y, G; 2 × (width, height); N_G = 2: (T 0, R 1, P_DIFF 4), (T 1, R 0).
    const ss = [0x38, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0, 0x02, 0x04, 0x04, 0x20];
    assert.equal(parseVp9(Buffer.from([0x0a, ...ss, 0xee]), d), true);
    assert.equal(d.ssSpatialLayers, 2);
    assert.equal(d.descriptorBytes, 1 + ss.length);
    assert.equal(d.isKeyframe, true);
    assert.equal(parseVp9(Buffer.from([0x0a, ...ss.slice(0, 10)]), d), false, 'truncated sizes');
  });

  it('keyframes: not inter-predicted, beginning of frame, spatial layer 0', () => {
    assert.equal(isVp9Keyframe(Buffer.from([0x08])), true);
    assert.equal(isVp9Keyframe(Buffer.from([0x48])), false, 'inter-picture predicted');
    assert.equal(isVp9Keyframe(Buffer.from([0x04])), false, 'not the first packet');
    assert.equal(isVp9Keyframe(Buffer.from([0xa8, 0x80, 0x01, 0x00, 0x07])), true, 'spatial 0');
    assert.equal(isVp9Keyframe(Buffer.from([0xa8, 0x80, 0x01, 0x02, 0x07])), false, 'spatial 1');
    assert.equal(isVp9Keyframe(Buffer.from([0x00, 0x08]), 1), true, 'at an offset');
  });

  it('refuses truncated descriptors and never throws', () => {
    const d = newVp9Descriptor();
    const full = Buffer.from([0xac, 0x81, 0x23, 0x30, 0x07]);
    for (let len = 0; len < full.length; len++)
      assert.equal(parseVp9(full.subarray(0, len), d), false, `${len}`);
    for (let i = 0; i < 3000; i++) parseVp9(randomBytes(i % 20), d);
  });
});
