import { parseVp8, rewriteVp8, type Vp8Descriptor } from '../../rtp/codecs/vp8.ts';
import { rewriteVp8KeyIdx } from '../qos/vp8-munger.ts';

const HISTORY = 1024;
/**
 * A packet is sent again at most this many times, and not again within one round trip of the last
 * resend: a receiver re-asks each RTT (libwebrtc's NACK module up to 10 times), and on a congested
 * link answering every ask multiplies the traffic that caused the loss.
 */
const MAX_RESENDS = 3;
export const MIN_RESEND_INTERVAL_MS = 30;

/** What a NACKed packet gets: sent again, skipped (resent within the interval), or given up on. */
export type ResendDecision = 'resend' | 'skip' | 'give_up';

/**
 * What a DownTrack sent, by its (rewritten) sequence number, for answering NACKs: the source
 * packet's SSRC and sequence number (to find it in the UpTrack's cache), what was written over it
 * (timestamp, marker, VP8 picture id / TL0PICIDX / KEYIDX), and how often and when it was resent.
 * A ring of typed arrays: nothing is allocated per packet.
 */
export class SentHistory {
  readonly #seq = new Int32Array(HISTORY).fill(-1);
  readonly #sourceSeq = new Uint16Array(HISTORY);
  readonly #ssrc = new Uint32Array(HISTORY);
  readonly #timestamp = new Uint32Array(HISTORY);
  readonly #marker = new Uint8Array(HISTORY);
  /** -1: no VP8 fields written. */
  readonly #pictureId = new Int32Array(HISTORY);
  readonly #tl0 = new Int16Array(HISTORY);
  readonly #keyIdx = new Int8Array(HISTORY);
  readonly #resentMs = new Float64Array(HISTORY);
  readonly #resends = new Uint8Array(HISTORY);

  /** A packet sent under `seq`; returns its slot (for recordVp8). */
  record(seq: number, sourceSeq: number, ssrc: number, timestamp: number, marker: boolean): number {
    const slot = seq % HISTORY;
    this.#seq[slot] = seq;
    this.#sourceSeq[slot] = sourceSeq;
    this.#ssrc[slot] = ssrc;
    this.#timestamp[slot] = timestamp;
    this.#marker[slot] = marker ? 1 : 0;
    this.#pictureId[slot] = -1;
    this.#resends[slot] = 0;
    return slot;
  }

  /** The VP8 fields the packet in `slot` was sent with. */
  recordVp8(slot: number, d: Vp8Descriptor): void {
    this.#pictureId[slot] = d.pictureId;
    this.#tl0[slot] = d.tl0PicIdx;
    this.#keyIdx[slot] = d.keyIdx;
  }

  /** The slot of the packet sent under `seq`, or -1 when it was never sent or has been overwritten. */
  slotOf(seq: number): number {
    const slot = seq % HISTORY;
    return this.#seq[slot] === seq ? slot : -1;
  }

  /** Whether to resend the packet in `slot` now: at most MAX_RESENDS times, not twice within `intervalMs`. */
  decide(slot: number, nowMs: number, intervalMs: number): ResendDecision {
    const resends = this.#resends[slot]!;
    if (resends >= MAX_RESENDS) return 'give_up';
    if (resends > 0 && nowMs - this.#resentMs[slot]! < intervalMs) return 'skip';
    return 'resend';
  }

  /** The packet in `slot` was sent again at `nowMs`. */
  resent(slot: number, nowMs: number): void {
    this.#resends[slot] = this.#resends[slot]! + 1;
    this.#resentMs[slot] = nowMs;
  }

  sourceSsrc(slot: number): number {
    return this.#ssrc[slot]!;
  }

  sourceSeq(slot: number): number {
    return this.#sourceSeq[slot]!;
  }

  timestamp(slot: number): number {
    return this.#timestamp[slot]!;
  }

  marker(slot: number): boolean {
    return this.#marker[slot] === 1;
  }

  /** Writes the VP8 fields as first sent over the resent packet's payload out[payloadAt..end). */
  restoreVp8(slot: number, out: Buffer, payloadAt: number, end: number, d: Vp8Descriptor): void {
    const pictureId = this.#pictureId[slot]!;
    if (pictureId < 0 || !parseVp8(out, d, payloadAt, end)) return;
    rewriteVp8(out, d, pictureId, this.#tl0[slot]!);
    if (this.#keyIdx[slot]! >= 0) rewriteVp8KeyIdx(out, payloadAt, d, this.#keyIdx[slot]!);
  }
}
