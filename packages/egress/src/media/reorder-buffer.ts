import { SeqUnwrapper } from '../../../../src/rtp/seq.ts';

export interface ReorderOptions {
  /** How long a gap is waited for before its packets are given up (the retransmission's time). */
  maxWaitMs: number;
  /** Packets held behind a gap at most; one more gives the gap up at once. */
  maxPackets: number;
}

export const DEFAULT_REORDER: ReorderOptions = { maxWaitMs: 150, maxPackets: 256 };

/**
 * A packet this far from the next expected one (either way) means the stream restarted (a new
 * sender or a jump in its numbering): waiting for the packets in between would be pointless.
 */
const RESTART_DISTANCE = 3000;

interface Held {
  packet: Buffer;
  arrivalMs: number;
}

/**
 * Releases one SSRC's packets in sequence order (by extended sequence number). A missing packet
 * is waited for up to `maxWaitMs` after the first packet that arrived behind it (or until
 * `maxPackets` are held), then given up: `onLoss` is called and the packets after it flow on.
 * Duplicates and packets older than the released ones are dropped; a restart (a jump of thousands)
 * starts the sequence again, reported as a loss of 0 packets.
 */
export class ReorderBuffer {
  readonly #options: ReorderOptions;
  readonly #onPacket: (packet: Buffer) => void;
  readonly #onLoss: (missing: number) => void;
  readonly #unwrapper = new SeqUnwrapper();
  readonly #held = new Map<number, Held>();
  #next = -1;
  /** Packets given up, duplicates and late ones, for stats and tests. */
  lost = 0;
  late = 0;

  constructor(
    options: ReorderOptions,
    onPacket: (packet: Buffer) => void,
    onLoss: (missing: number) => void,
  ) {
    this.#options = options;
    this.#onPacket = onPacket;
    this.#onLoss = onLoss;
  }

  /** Packets waiting behind a gap. */
  get waiting(): number {
    return this.#held.size;
  }

  /** Takes a packet (copied: the caller's buffer may be reused) with its sequence number. */
  push(seq: number, packet: Uint8Array, nowMs: number): void {
    let ext = this.#unwrapper.unwrap(seq);
    if (this.#next !== -1 && Math.abs(this.#next - ext) > RESTART_DISTANCE) {
      this.reset();
      this.#onLoss(0);
      ext = this.#unwrapper.unwrap(seq);
    }
    if (this.#next === -1) this.#next = ext;
    if (ext < this.#next || this.#held.has(ext)) {
      this.late++;
      return;
    }
    this.#held.set(ext, { packet: Buffer.from(packet), arrivalMs: nowMs });
    this.#drain();
    this.poll(nowMs);
  }

  /** Gives up gaps that waited too long; call it on a timer while `waiting` > 0. */
  poll(nowMs: number): void {
    while (this.#held.size > 0) {
      let oldest = Number.POSITIVE_INFINITY;
      let first = Number.POSITIVE_INFINITY;
      for (const [ext, held] of this.#held) {
        if (ext < first) first = ext;
        if (held.arrivalMs < oldest) oldest = held.arrivalMs;
      }
      if (this.#held.size <= this.#options.maxPackets && nowMs - oldest < this.#options.maxWaitMs) return;
      const missing = first - this.#next;
      this.lost += missing;
      this.#next = first;
      this.#onLoss(missing);
      this.#drain();
    }
  }

  /** Forgets everything: the next packet starts the sequence again. */
  reset(): void {
    this.#held.clear();
    this.#unwrapper.reset();
    this.#next = -1;
  }

  #drain(): void {
    for (let held = this.#held.get(this.#next); held !== undefined; held = this.#held.get(this.#next)) {
      this.#held.delete(this.#next);
      this.#next++;
      this.#onPacket(held.packet);
    }
  }
}
