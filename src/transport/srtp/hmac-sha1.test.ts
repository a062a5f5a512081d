import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { HmacSha1 } from './hmac-sha1.ts';

describe('HmacSha1', () => {
  it('RFC 2202 test case 2 ("Jefe")', () => {
    const data = Buffer.from('what do ya want for nothing?');
    const out = Buffer.alloc(20);
    new HmacSha1(Buffer.from('Jefe')).sign(data, 0, data.length, -1, out, 0, 20);
    assert.equal(out.toString('hex'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  });

  it('matches createHmac over a range and a 32-bit trailer, growing past 1500 bytes', () => {
    const key = randomBytes(20);
    const mac = new HmacSha1(key);
    for (const bytes of [0, 1, 64, 1200, 1600, 9000]) {
      const data = randomBytes(bytes + 6);
      const roc = 0xdeadbeef;
      const rocBytes = Buffer.alloc(4);
      rocBytes.writeUInt32BE(roc);
      const expected = createHmac('sha1', key)
        .update(data.subarray(3, 3 + bytes))
        .update(rocBytes)
        .digest()
        .subarray(0, 10);
      const out = Buffer.alloc(12);
      mac.sign(data, 3, 3 + bytes, roc, out, 2, 10);
      assert.deepEqual(out.subarray(2), expected, `${bytes} bytes`);
      assert.equal(mac.verify(data, 3, 3 + bytes, roc, expected), true);
      const wrong = Buffer.from(expected);
      wrong[9] = wrong[9]! ^ 1;
      assert.equal(mac.verify(data, 3, 3 + bytes, roc, wrong), false);
      assert.equal(mac.verify(data, 3, 3 + bytes, roc, Buffer.alloc(0)), false, 'an empty tag never passes');
    }
  });
});
