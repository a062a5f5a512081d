import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyOfSsrc, ssrcKey, ssrcOfKey } from './ssrc-key.ts';

describe('ssrcKey', () => {
  it('reads an SSRC as a signed 32-bit integer, the same key as keyOfSsrc, back with ssrcOfKey', () => {
    const packet = Buffer.alloc(12);
    for (const ssrc of [0, 1, 0x7fffffff, 0x80000000, 0x9e3779b1, 0xffffffff]) {
      packet.writeUInt32BE(ssrc, 8);
      const key = ssrcKey(packet, 8);
      assert.ok(key >= -(2 ** 31) && key < 2 ** 31);
      assert.equal(key, keyOfSsrc(ssrc));
      assert.equal(keyOfSsrc(key), key, 'a key is its own key');
      assert.equal(ssrcOfKey(key), ssrc);
    }
  });
});
