/** Throughput is measured over the packets that arrived within this window. */
const WINDOW_MS = 500;
/** Below this span of arrivals there is no estimate yet. */
const MIN_SPAN_MS = 150;
/** The shortest span a recent rate is measured over. */
const MIN_RECENT_SPAN_MS = 40;

/**
 * Throughput the receiver acknowledged (R_hat of draft-ietf-rmcat-gcc-02 §5.5): bytes of the
 * packets that arrived in the last 500 ms over that span, by receiver arrival time.
 */
export class AckedBitrateEstimator {
  readonly #arrivalsMs: number[] = [];
  readonly #sizes: number[] = [];
  #head = 0;
  #bytes = 0;

  /** A packet arrived at `arrivalMs` (receiver clock, non-decreasing in practice). */
  add(arrivalMs: number, sizeBytes: number): void {
    this.#arrivalsMs.push(arrivalMs);
    this.#sizes.push(sizeBytes);
    this.#bytes += sizeBytes;
    while (this.#head < this.#arrivalsMs.length && arrivalMs - this.#arrivalsMs[this.#head]! > WINDOW_MS) {
      this.#bytes -= this.#sizes[this.#head]!;
      this.#head++;
    }
    // Compact now and then so the arrays do not grow without bound.
    if (this.#head > 1024) {
      this.#arrivalsMs.splice(0, this.#head);
      this.#sizes.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /**
   * Bits per second over the arrivals of the last `spanMs` only (spanning at least MIN_RECENT_SPAN_MS),
   * or undefined. Behind a bottleneck with a standing queue, packets arrive at the link's rate: this
   * is its capacity now, where the full window still remembers the rate before the queue formed.
   */
  recentBitrateBps(spanMs: number): number | undefined {
    const n = this.#arrivalsMs.length;
    if (n - this.#head < 2) return undefined;
    const last = this.#arrivalsMs[n - 1]!;
    let i = n - 1;
    let bytes = 0;
    while (i > this.#head && last - this.#arrivalsMs[i - 1]! <= spanMs) {
      bytes += this.#sizes[i]!;
      i--;
    }
    const span = last - this.#arrivalsMs[i]!;
    if (span < MIN_RECENT_SPAN_MS) return undefined;
    return (bytes * 8 * 1000) / span;
  }

  /** Bits per second over the window, or undefined before enough has arrived. */
  get bitrateBps(): number | undefined {
    const n = this.#arrivalsMs.length;
    if (n - this.#head < 2) return undefined;
    const spanMs = this.#arrivalsMs[n - 1]! - this.#arrivalsMs[this.#head]!;
    if (spanMs < MIN_SPAN_MS) return undefined;
    // n arrivals span n − 1 intervals: the first packet's bytes arrived before the span began.
    return ((this.#bytes - this.#sizes[this.#head]!) * 8 * 1000) / spanMs;
  }
}
