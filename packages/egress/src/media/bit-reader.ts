/**
 * MSB-first bit reader over a byte array, with exp-Golomb codes (H.264 §9.1). Reads past the end
 * throw BitstreamError, which the callers turn into "malformed" (never a RangeError).
 */

export class BitstreamError extends Error {
  constructor() {
    super('read past the end of the bitstream');
    this.name = 'BitstreamError';
  }
}

/** Longest exp-Golomb prefix accepted (values up to 2^31). */
const MAX_LEADING_ZEROS = 31;

export class BitReader {
  readonly #bytes: Uint8Array;
  #bit = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  bit(): number {
    const byte = this.#bit >> 3;
    if (byte >= this.#bytes.length) throw new BitstreamError();
    const value = (this.#bytes[byte]! >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }

  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }

  skip(n: number): void {
    for (let i = 0; i < n; i++) this.bit();
  }

  /** ue(v) */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > MAX_LEADING_ZEROS) throw new BitstreamError();
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v) */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}
