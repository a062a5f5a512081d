import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type ExtensionRange,
  findHeaderExtension,
  headerExtension,
  isTwoByteExtensionBlock,
  remapHeaderExtensionIds,
  rewriteHeaderExtensionId,
} from './rtp-extensions.ts';

/** An RTP packet whose extension block holds `body` (padded to words) and 4 payload bytes. */
function withExtensions(profile: number, body: number[]): Buffer {
  const words = Math.ceil(body.length / 4);
  const p = Buffer.alloc(12 + 4 + words * 4 + 4);
  p[0] = 0x90;
  p[1] = 96;
  p.writeUInt16BE(profile, 12);
  p.writeUInt16BE(words, 14);
  Buffer.from(body).copy(p, 16);
  p.fill(0xee, p.length - 4);
  return p;
}

// One-byte form: id 1 (len 1) "a", padding, id 3 (len 3) "mid", id 4 (len 2).
const ONE_BYTE = [0x10, 0x61, 0x00, 0x32, 0x6d, 0x69, 0x64, 0x41, 0x01, 0x02];
// Two-byte form: id 1 (len 0), id 200 (len 3) "rid", padding.
const TWO_BYTE = [0x01, 0x00, 200, 0x03, 0x72, 0x69, 0x64, 0x00];

describe('rtp-extensions', () => {
  it('finds one-byte and two-byte elements, skipping padding', () => {
    const range: ExtensionRange = { offset: 0, length: 0 };
    const one = withExtensions(0xbede, ONE_BYTE);
    assert.equal(findHeaderExtension(one, 3, range), true);
    assert.equal(one.toString('latin1', range.offset, range.offset + range.length), 'mid');
    assert.equal(headerExtension(one, 1)?.toString('latin1'), 'a');
    assert.deepEqual(headerExtension(one, 4), Buffer.from([1, 2]));
    assert.equal(headerExtension(one, 2), undefined);
    const two = withExtensions(0x1000, TWO_BYTE);
    assert.equal(headerExtension(two, 200)?.toString('latin1'), 'rid');
    assert.deepEqual(headerExtension(two, 1), Buffer.alloc(0));
    assert.equal(isTwoByteExtensionBlock(two), true);
    assert.equal(isTwoByteExtensionBlock(one), false);
  });

  it('one-byte id 15 stops the walk; unknown profiles and overruns read as absent', () => {
    assert.equal(headerExtension(withExtensions(0xbede, [0xf0, 0x10, 0x61]), 1), undefined);
    assert.equal(headerExtension(withExtensions(0x1234, ONE_BYTE), 3), undefined);
    assert.equal(
      headerExtension(withExtensions(0xbede, [0x3f, 1, 2]), 3),
      undefined,
      'length past the block',
    );
    const lying = withExtensions(0xbede, ONE_BYTE);
    lying.writeUInt16BE(50, 14);
    assert.equal(headerExtension(lying, 3), undefined);
    for (let i = 0; i < 3000; i++) {
      const junk = withExtensions(i % 2 ? 0xbede : 0x1000, [...randomBytes(i % 24)]);
      headerExtension(junk, i % 16);
      rewriteHeaderExtensionId(junk, i % 16, 2);
    }
  });

  it('rewrites one id in place, refusing ids the form cannot carry', () => {
    const one = withExtensions(0xbede, ONE_BYTE);
    assert.equal(rewriteHeaderExtensionId(one, 3, 9), true);
    assert.equal(headerExtension(one, 9)?.toString('latin1'), 'mid');
    assert.equal(headerExtension(one, 3), undefined);
    assert.equal(one[19], 0x92, 'the length nibble is kept');
    const before = Buffer.from(one);
    assert.equal(rewriteHeaderExtensionId(one, 9, 15), false, 'one-byte ids are 1–14');
    assert.equal(rewriteHeaderExtensionId(one, 7, 2), false, 'absent');
    assert.deepEqual(one, before);
    const two = withExtensions(0x1000, TWO_BYTE);
    assert.equal(rewriteHeaderExtensionId(two, 200, 20), true);
    assert.equal(headerExtension(two, 20)?.toString('latin1'), 'rid');
  });

  it('remaps all ids in one pass (no chaining) and blanks unmapped elements into padding', () => {
    const one = withExtensions(0xbede, ONE_BYTE);
    const map = new Uint8Array(256);
    map[1] = 3;
    map[3] = 1;
    assert.equal(remapHeaderExtensionIds(one, map), true);
    assert.equal(headerExtension(one, 3)?.toString('latin1'), 'a', 'swapped, not chained');
    assert.equal(headerExtension(one, 1)?.toString('latin1'), 'mid');
    assert.equal(headerExtension(one, 4), undefined, 'unmapped: blanked');
    assert.deepEqual(one.subarray(24, 26), Buffer.alloc(2));
    assert.deepEqual(one.subarray(one.length - 4), Buffer.alloc(4, 0xee), 'payload untouched');
    const bad = new Uint8Array(256).fill(20);
    const before = withExtensions(0xbede, ONE_BYTE);
    const copy = Buffer.from(before);
    assert.equal(remapHeaderExtensionIds(before, bad), false);
    assert.deepEqual(before, copy, 'nothing written when a new id does not fit');
    const noExtension = Buffer.alloc(20);
    noExtension[0] = 0x80;
    assert.equal(remapHeaderExtensionIds(noExtension, map), true);
  });
});
