// A load publisher's pacer: video packets leave at a multiple of the media rate instead of a whole
// frame at once, as a browser sends them. libwebrtc paces at 2.5× the target rate before
// congestion feedback (PacingController::kDefaultPaceMultiplier, modules/pacing/
// pacing_controller.cc), so a 6-packet frame of a 1.5 Mbit/s layer takes several milliseconds to
// leave, not microseconds. Without it the load sent each frame of every layer in one burst, and
// the publishers of one load process (started together) in the same 5 ms tick: the server saw
// every publisher's frame at the same instant, and its forwarding latency was mostly that burst
// waiting in its socket.

/** The pace: this multiple of the media rate (libwebrtc's default). */
export const PACE_MULTIPLIER = 2.5;
/** Budget that may build up while idle: a packet burst of at most this long at the pace. */
const MAX_BURST_MS = 5;

interface Queued {
  packet: Buffer;
  /** Stamped with the send time when it leaves (the receivers' latency starts there). */
  stamp: boolean;
}

/** A byte budget filled at the pace and spent by the queued packets, in order; audio bypasses it. */
export class Pacer {
  readonly #bytesPerMs: number;
  readonly #queue: Queued[] = [];
  #head = 0;
  #budget = 0;
  #lastMs: number | undefined;

  /** `mediaBps`: what the paced streams send together, bits per second. */
  constructor(mediaBps: number) {
    this.#bytesPerMs = (mediaBps * PACE_MULTIPLIER) / 8 / 1000;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  enqueue(packet: Buffer, stamp: boolean): void {
    this.#queue.push({ packet, stamp });
  }

  /**
   * Sends (through `send`) the queued packets the budget allows by `nowMs`. A packet leaves while
   * the budget is positive and may take it below zero (a debt paid before the next), so a packet
   * larger than one tick's budget still leaves.
   */
  drain(nowMs: number, send: (packet: Buffer, stamp: boolean) => void): void {
    const elapsed = this.#lastMs === undefined ? MAX_BURST_MS : nowMs - this.#lastMs;
    this.#lastMs = nowMs;
    this.#budget = Math.min(this.#budget + elapsed * this.#bytesPerMs, MAX_BURST_MS * this.#bytesPerMs);
    const queue = this.#queue;
    while (this.#head < queue.length && this.#budget > 0) {
      const next = queue[this.#head]!;
      queue[this.#head++] = undefined as unknown as Queued;
      this.#budget -= next.packet.length;
      send(next.packet, next.stamp);
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    }
  }
}
