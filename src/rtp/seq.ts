/**
 * Wrap-safe arithmetic on RTP sequence numbers (16 bits, RFC 3550 §5.1) and timestamps (32 bits).
 * "Newer" means ahead by less than half the number space, as libwebrtc's IsNewerSequenceNumber.
 */

const SEQ_MOD = 0x10000;
const SEQ_HALF = 0x8000;
const TS_HALF = 0x80000000;

/** Signed distance `a - b` between two sequence numbers, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= SEQ_HALF ? d - SEQ_MOD : d;
}

/** True when `a` comes after `b` (modulo 2^16); at exactly half the space, the larger value wins. */
export function isSeqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  if (d === SEQ_HALF) return a > b;
  return d !== 0 && d < SEQ_HALF;
}

/** `seq + n` modulo 2^16 (n may be negative). */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) & 0xffff;
}

/** Signed distance `a - b` between two 32-bit RTP timestamps, in [-2^31, 2^31 - 1]. */
export function timestampDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when timestamp `a` comes after `b` (modulo 2^32); at exactly half, the larger value wins. */
export function isTimestampNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  if (d === TS_HALF) return a >>> 0 > b >>> 0;
  return d !== 0 && d < TS_HALF;
}

/**
 * Turns 16-bit sequence numbers into a monotonic extended sequence (cycles · 2^16 + seq), each one
 * placed nearest to the last unwrapped value, so that reordered packets land before it. The
 * first value is returned unchanged; a packet older than the first one across a wrap goes below
 * zero rather than being misplaced a whole cycle ahead.
 */
export class SeqUnwrapper {
  #last = -1;
  #hasLast = false;

  /** The extended sequence of `seq`; `update` = false peeks without moving the reference. */
  unwrap(seq: number, update = true): number {
    const s = seq & 0xffff;
    const extended = this.#hasLast ? this.#last + seqDiff(s, this.#last & 0xffff) : s;
    if (update && (!this.#hasLast || extended > this.#last)) {
      this.#last = extended;
      this.#hasLast = true;
    }
    return extended;
  }

  /** The highest extended sequence seen, or -1 before the first packet. */
  get highest(): number {
    return this.#hasLast ? this.#last : -1;
  }

  reset(): void {
    this.#last = -1;
    this.#hasLast = false;
  }
}
