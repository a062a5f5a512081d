import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AesCmCipher } from './aes-cm.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The same keystream from Node's own CTR mode: IV = salt·2^16 ⊕ SSRC·2^64 ⊕ index·2^16. */
function reference(key: Buffer, salt: Buffer, ssrc: number, index: number, data: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, 14);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const index48 = Buffer.alloc(8);
  index48.writeBigUInt64BE(BigInt(index) << 16n);
  for (let i = 0; i < 8; i++) iv[8 + i] = iv[8 + i]! ^ index48[i]!;
  return createCipheriv('aes-128-ctr', key, iv).update(data);
}

describe('AesCmCipher (RFC 3711 §4.1.1)', () => {
  it('B.2: the keystream of the RFC vector (SSRC 0, index 0)', () => {
    const cipher = new AesCmCipher(
      hex('2B7E151628AED2A6ABF7158809CF4F3C'),
      hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
    );
    const stream = Buffer.alloc(48);
    cipher.xor(stream, 0, 48, 0, 0);
    assert.equal(
      stream.toString('hex').toUpperCase(),
      'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
    );
  });

  it('matches Node CTR mode for any length, offset, alignment, SSRC and 48-bit index', () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const cipher = new AesCmCipher(key, salt);
    for (const bytes of [1, 15, 16, 17, 1200, 1500, 4000]) {
      for (const offset of [0, 1, 3, 12]) {
        const ssrc = randomBytes(4).readUInt32BE();
        const index = Math.floor(Math.random() * 2 ** 48);
        const data = randomBytes(bytes);
        const buf = Buffer.alloc(offset + bytes + 5);
        data.copy(buf, offset);
        cipher.xor(buf, offset, offset + bytes, ssrc, index);
        assert.deepEqual(buf.subarray(offset, offset + bytes), reference(key, salt, ssrc, index, data));
        assert.ok(
          buf.subarray(offset + bytes).every((b) => b === 0),
          'nothing written past the end',
        );
      }
    }
  });

  it('is its own inverse and leaves an empty range alone', () => {
    const cipher = new AesCmCipher(randomBytes(16), randomBytes(14));
    const data = randomBytes(100);
    const buf = Buffer.from(data);
    cipher.xor(buf, 10, 90, 7, 70_000);
    cipher.xor(buf, 10, 90, 7, 70_000);
    assert.deepEqual(buf, data);
    cipher.xor(buf, 50, 50, 7, 1);
    assert.deepEqual(buf, data);
  });
});
