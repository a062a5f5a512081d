import { writeTwcc } from '../rtp/rtcp-twcc.ts';

/** Arrivals remembered, by extended sequence number modulo this (a power of two). */
const WINDOW = 4096;
/** Packets reported in one feedback at most; the rest go in the next one. */
const MAX_PER_FEEDBACK = 512;
/** Larger gaps are a restart of the sender's counter, not loss: reporting starts again. */
const MAX_GAP = 1000;

/**
 * The receiver side of transport-wide congestion control
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each packet carrying a
 * transport-wide sequence number arrived, and writes the feedback the sender's bandwidth estimator
 * (GCC in browsers) runs on. Every packet of the transport counts (audio, video, RTX, padding): a
 * number not recorded is reported lost.
 *
 * Allocation-free per packet: a ring of arrival times indexed by extended sequence number.
 * Lifecycle: record() per packet → flush() on a timer (~50–100 ms) → dropped with the transport.
 */
export class TwccFeedback {
  /** Arrival times (µs), NaN for none, at the slots `slot()` gives. */
  readonly arrivalsUs = new Float64Array(WINDOW).fill(Number.NaN);
  readonly #senderSsrc: number;
  /** Extended sequence number of the next packet to report; -1 before the first packet. */
  #nextToReport = -1;
  #highest = -1;
  #feedbackCount = 0;
  #mediaSsrc = 0;
  readonly #scratch: Array<number | undefined> = [];

  constructor(options: { senderSsrc: number }) {
    this.#senderSsrc = options.senderSsrc;
  }

  /** A packet with transport-wide sequence number `seq` (16 bits) arrived at `arrivalUs`. */
  record(seq: number, arrivalUs: number, mediaSsrc: number): void {
    const slot = this.slot(seq, mediaSsrc);
    if (slot >= 0) this.arrivalsUs[slot] = arrivalUs;
  }

  /**
   * record() in two steps, for a caller on the packet path: a time passed as an argument is a heap
   * number (allocated per call), so the caller writes it at `arrivalsUs[slot]` itself, now. The
   * slot of `seq`'s arrival, or -1 when it is too late to tell. `mediaSsrc` unsigned, or signed.
   */
  slot(seq: number, mediaSsrc: number): number {
    const extended = this.#extend(seq);
    if (this.#nextToReport < 0 || Math.abs(extended - this.#highest) > MAX_GAP) {
      this.#nextToReport = extended;
      this.#highest = extended;
      this.arrivalsUs.fill(Number.NaN);
    }
    // Older than what was reported already, or too old to keep: too late to tell.
    if (extended < this.#nextToReport || this.#highest - extended >= WINDOW) return -1;
    if (extended > this.#highest) {
      for (let s = this.#highest + 1; s < extended; s++) this.arrivalsUs[s % WINDOW] = Number.NaN;
      this.#highest = extended;
    }
    this.#mediaSsrc = mediaSsrc;
    return extended % WINDOW;
  }

  /**
   * Writes the feedback for what arrived since the last flush into `out` (one RTCP packet); returns
   * its length, or 0 when there is nothing to report.
   */
  flush(out: Buffer): number {
    if (this.#nextToReport < 0 || this.#nextToReport > this.#highest) return 0;
    // The window may have moved past unreported numbers (a long pause in flushing): skip them.
    const first = Math.max(this.#nextToReport, this.#highest - WINDOW + 1);
    const last = Math.min(this.#highest, first + MAX_PER_FEEDBACK - 1);
    const arrivals = this.#scratch;
    arrivals.length = 0;
    for (let s = first; s <= last; s++) {
      const t = this.arrivalsUs[s % WINDOW]!;
      arrivals.push(Number.isNaN(t) ? undefined : t);
    }
    // The draft's base sequence number starts with a received packet.
    while (arrivals.length > 0 && arrivals[0] === undefined) arrivals.shift();
    const base = last - arrivals.length + 1;
    this.#nextToReport = last + 1;
    if (arrivals.length === 0) return 0;
    const bytes = writeTwcc(out, 0, {
      senderSsrc: this.#senderSsrc,
      mediaSsrc: this.#mediaSsrc >>> 0,
      baseSeq: base & 0xffff,
      feedbackPacketCount: this.#feedbackCount,
      arrivalsUs: arrivals,
    });
    if (bytes <= 0) return 0;
    this.#feedbackCount = (this.#feedbackCount + 1) & 0xff;
    return bytes;
  }

  /** The 16-bit number unwrapped next to the highest seen (RFC 3550 Appendix A.1 style). */
  #extend(seq: number): number {
    if (this.#highest < 0) return seq + 0x10000;
    const high = this.#highest;
    let extended = (high & ~0xffff) | seq;
    if (extended < high - 0x8000) extended += 0x10000;
    else if (extended > high + 0x8000) extended -= 0x10000;
    return extended;
  }
}
