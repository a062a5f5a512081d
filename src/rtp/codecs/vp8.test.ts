import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVp8Keyframe, newVp8Descriptor, parseVp8, rewriteVp8 } from './vp8.ts';

describe('VP8 payload descriptor (RFC 7741 §4.2)', () => {
  it('parses the minimal descriptor: S, PID, N', () => {
    const d = newVp8Descriptor();
    assert.equal(parseVp8(Buffer.from([0x30, 0x00, 0x9d]), d), true);
    assert.equal(d.descriptorBytes, 1);
    assert.equal(d.nonReference, true);
    assert.equal(d.startOfPartition, true);
    assert.equal(d.partitionIndex, 0);
    assert.equal(d.pictureId, -1);
    assert.equal(d.isKeyframe, true);
  });

  it('parses X with I (15-bit picture id), L, T and K', () => {
    const d = newVp8Descriptor();
    // X|S, I|L|T|K, M + picture id 0x1234, TL0PICIDX 9, TID 2 Y KEYIDX 5, then a key frame header.
    const payload = Buffer.from([0x90, 0xf0, 0x92, 0x34, 0x09, 0xa5, 0x10, 0x02]);
    assert.equal(parseVp8(payload, d), true);
    assert.equal(d.descriptorBytes, 6);
    assert.equal(d.pictureId, 0x1234);
    assert.equal(d.pictureIdBits, 15);
    assert.equal(d.pictureIdOffset, 2);
    assert.equal(d.tl0PicIdx, 9);
    assert.equal(d.tid, 2);
    assert.equal(d.layerSync, true);
    assert.equal(d.keyIdx, 5);
    assert.equal(d.isKeyframe, true);
  });

  it('7-bit picture id; K without T; offsets inside a larger buffer', () => {
    const d = newVp8Descriptor();
    const packet = Buffer.concat([Buffer.alloc(12, 0xff), Buffer.from([0x80, 0x90, 0x7f, 0x1f, 0x01])]);
    assert.equal(parseVp8(packet, d, 12), true);
    assert.equal(d.pictureId, 0x7f);
    assert.equal(d.pictureIdBits, 7);
    assert.equal(d.pictureIdOffset, 14);
    assert.equal(d.tid, -1);
    assert.equal(d.keyIdx, 0x1f);
    assert.equal(d.isKeyframe, false, 'S = 0');
  });

  it('keyframes: S = 1, PID = 0 and the P bit clear', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x10, 0x00])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x10, 0x01])), false, 'inter frame');
    assert.equal(isVp8Keyframe(Buffer.from([0x11, 0x00])), false, 'partition 1');
    assert.equal(isVp8Keyframe(Buffer.from([0x10])), false, 'no payload byte');
    assert.equal(isVp8Keyframe(Buffer.from([0xff, 0x10, 0x00]), 1), true, 'at an offset');
    assert.equal(isVp8Keyframe(Buffer.from([0x10, 0x00, 0x00]), 0, 1), false, 'end bounds the payload');
  });

  it('refuses truncated descriptors without reading past the end', () => {
    const full = Buffer.from([0x90, 0xf0, 0x92, 0x34, 0x09, 0xa5, 0x10]);
    const d = newVp8Descriptor();
    for (let len = 0; len < 6; len++) assert.equal(parseVp8(full.subarray(0, len), d), false, `${len}`);
    assert.equal(parseVp8(full, d, 3, 2), false);
    assert.equal(parseVp8(full, d, 0, 99), false);
    for (let i = 0; i < 2000; i++) parseVp8(randomBytes(i % 8), d);
  });

  it('rewrites picture id and TL0PICIDX in place, keeping each width', () => {
    const payload = Buffer.from([0x90, 0xc0, 0x92, 0x34, 0x09, 0x00]);
    const d = newVp8Descriptor();
    parseVp8(payload, d);
    assert.equal(rewriteVp8(payload, d, 0x7ffe + 3, 300), true);
    assert.deepEqual([...payload.subarray(2, 5)], [0x80, 0x01, 300 & 0xff], 'modulo 2^15, with M kept');
    parseVp8(payload, d);
    assert.equal(d.pictureId, 1);
    const short = Buffer.from([0x90, 0x80, 0x05, 0x00]);
    parseVp8(short, d);
    assert.equal(rewriteVp8(short, d, 200, -1), true);
    assert.equal(short[2], 200 & 0x7f);
    assert.equal(rewriteVp8(short, d, -1, 3), false, 'no TL0PICIDX to write');
    assert.equal(short[2], 200 & 0x7f, 'nothing written on refusal');
  });
});
