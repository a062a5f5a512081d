/** Loss above this fraction lowers the estimate, below the lower one raises it (draft-ietf-rmcat-gcc-02 §6). */
const HIGH_LOSS = 0.1;
const LOW_LOSS = 0.02;
const INCREASE_FACTOR = 1.05;
/** Loss is judged over at least this many packets and this long, so one burst is not a verdict. */
const MIN_PACKETS = 20;
const MIN_INTERVAL_MS = 300;
const MAX_ACKED_RATIO = 1.5;
const ACKED_SLACK_BPS = 10_000;

/**
 * The loss-based controller of draft-ietf-rmcat-gcc-02 §6: with p the fraction of packets lost,
 * As(i) = As(i−1) · (1 − 0.5p) when p > 10 %, As(i−1) · 1.05 when p < 2 %, unchanged between.
 * The increase may not run ahead of 1.5 × the acknowledged throughput.
 */
export class LossBasedController {
  readonly #minBps: number;
  readonly #maxBps: number;
  #estimateBps: number;
  #lost = 0;
  #total = 0;
  #windowStartMs = -1;
  #lastLossFraction = 0;

  constructor(options: { startBps: number; minBps: number; maxBps: number }) {
    this.#minBps = options.minBps;
    this.#maxBps = options.maxBps;
    this.#estimateBps = options.startBps;
  }

  get estimateBps(): number {
    return this.#estimateBps;
  }

  /** The loss fraction of the last window judged, 0..1. */
  get lossFraction(): number {
    return this.#lastLossFraction;
  }

  /** A probe proved the path carries `bps`. */
  raiseTo(bps: number): void {
    if (bps > this.#estimateBps) this.#estimateBps = Math.min(this.#maxBps, bps);
  }

  /** Counts of one feedback: `lost` of `total` packets reported. */
  update(lost: number, total: number, ackedBps: number | undefined, nowMs: number): number {
    this.#lost += lost;
    this.#total += total;
    if (this.#total < MIN_PACKETS) return this.#estimateBps;
    if (this.#windowStartMs >= 0 && nowMs - this.#windowStartMs < MIN_INTERVAL_MS) return this.#estimateBps;
    const p = this.#lost / this.#total;
    this.#lastLossFraction = p;
    this.#lost = 0;
    this.#total = 0;
    this.#windowStartMs = nowMs;
    if (p > HIGH_LOSS) this.#estimateBps *= 1 - 0.5 * p;
    else if (p < LOW_LOSS) this.#increase(ackedBps);
    this.#estimateBps = Math.min(this.#maxBps, Math.max(this.#minBps, this.#estimateBps));
    return this.#estimateBps;
  }

  #increase(ackedBps: number | undefined): void {
    const ceiling = ackedBps === undefined ? this.#maxBps : MAX_ACKED_RATIO * ackedBps + ACKED_SLACK_BPS;
    this.#estimateBps = Math.max(this.#estimateBps, Math.min(this.#estimateBps * INCREASE_FACTOR, ceiling));
    // Without loss, what the receiver demonstrably took is carried (as the delay-based side does):
    // an SFU forwards what publishers send, so throughput can run ahead of a cautious start.
    if (ackedBps !== undefined && ackedBps > this.#estimateBps) this.#estimateBps = ackedBps;
  }
}
