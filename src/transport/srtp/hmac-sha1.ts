import { hash, timingSafeEqual } from 'node:crypto';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 20;

/**
 * HMAC-SHA1 (RFC 2104) with a fixed key, for SRTP authentication tags (RFC 3711 §4.2.1). The key
 * pads are computed once; each tag is two one-shot `crypto.hash` calls over reused scratch
 * buffers (ipad ‖ data ‖ trailer, then opad ‖ inner digest): about 2.4 µs for 1.2 kB in Node 24,
 * against ~10 µs for createHmac() per packet and ~3 µs for two createHash() objects.
 */
export class HmacSha1 {
  #inner: Buffer;
  readonly #outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES);
  readonly #tag = Buffer.alloc(DIGEST_BYTES);

  constructor(key: Buffer) {
    if (key.length > BLOCK_BYTES) throw new RangeError('HMAC key longer than a block');
    this.#inner = Buffer.alloc(BLOCK_BYTES + 1500 + 4);
    this.#inner.fill(0x36, 0, BLOCK_BYTES);
    this.#outer.fill(0x5c, 0, BLOCK_BYTES);
    for (let i = 0; i < key.length; i++) {
      this.#inner[i] = this.#inner[i]! ^ key[i]!;
      this.#outer[i] = this.#outer[i]! ^ key[i]!;
    }
  }

  /**
   * The first `tagBytes` of HMAC(data[from..to) ‖ trailer) written to out[outAt..), where
   * `trailer` is a 32-bit big-endian value appended when ≥ 0 (SRTP's ROC, RFC 3711 §4.2).
   */
  sign(
    data: Buffer,
    from: number,
    to: number,
    trailer: number,
    out: Buffer,
    outAt: number,
    tagBytes: number,
  ): void {
    this.#digest(data, from, to, trailer).copy(out, outAt, 0, tagBytes);
  }

  /** Constant-time check of the `tag` bytes against HMAC(data[from..to) ‖ trailer). */
  verify(data: Buffer, from: number, to: number, trailer: number, tag: Uint8Array): boolean {
    const digest = this.#digest(data, from, to, trailer);
    return (
      tag.length > 0 && tag.length <= DIGEST_BYTES && timingSafeEqual(digest.subarray(0, tag.length), tag)
    );
  }

  #digest(data: Buffer, from: number, to: number, trailer: number): Buffer {
    const dataBytes = to - from;
    const innerBytes = BLOCK_BYTES + dataBytes + (trailer >= 0 ? 4 : 0);
    if (innerBytes > this.#inner.length) this.#grow(innerBytes);
    const inner = this.#inner;
    data.copy(inner, BLOCK_BYTES, from, to);
    if (trailer >= 0) inner.writeUInt32BE(trailer >>> 0, BLOCK_BYTES + dataBytes);
    hash('sha1', inner.subarray(0, innerBytes), 'buffer').copy(this.#outer, BLOCK_BYTES);
    hash('sha1', this.#outer, 'buffer').copy(this.#tag);
    return this.#tag;
  }

  #grow(bytes: number): void {
    const bigger = Buffer.alloc(bytes * 2);
    this.#inner.copy(bigger, 0, 0, BLOCK_BYTES);
    this.#inner = bigger;
  }
}
