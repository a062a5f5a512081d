import { type BandwidthEstimator, type BitrateBounds, resolveBounds } from './bandwidth-estimator.ts';

/**
 * The estimate of a subscriber that sends only REMB (draft-alvestrand-rmcat-remb-03): the
 * receiver ran the estimation already, so the estimate is its last REMB value, within bounds.
 */
export class RembEstimator implements BandwidthEstimator {
  readonly #minBps: number;
  readonly #maxBps: number;
  #estimateBps: number;
  #lastRembMs = -1;

  constructor(bounds: BitrateBounds = {}) {
    const b = resolveBounds(bounds);
    this.#minBps = b.minBps;
    this.#maxBps = b.maxBps;
    this.#estimateBps = b.startBps;
  }

  get estimateBps(): number {
    return this.#estimateBps;
  }

  /** When the last REMB arrived, or -1 before the first. */
  get lastRembMs(): number {
    return this.#lastRembMs;
  }

  /** A REMB from the subscriber (`rembBitrateBps` of src/rtp). */
  onRemb(bitrateBps: number, nowMs: number): void {
    if (!Number.isFinite(bitrateBps) || bitrateBps < 0) return;
    this.#estimateBps = Math.min(this.#maxBps, Math.max(this.#minBps, bitrateBps));
    this.#lastRembMs = nowMs;
  }
}
