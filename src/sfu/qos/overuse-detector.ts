/** The delay-based detector's verdict (draft-ietf-rmcat-gcc-02 §5.4). */
export type BandwidthUsage = 'normal' | 'overusing' | 'underusing';

/** Adaptive threshold gains (libwebrtc's trendline values; the draft's K_u/K_d are for its Kalman m(i)). */
const K_UP = 0.0087;
const K_DOWN = 0.039;
const INITIAL_THRESHOLD = 12.5;
const MIN_THRESHOLD = 6;
const MAX_THRESHOLD = 600;
/** A modified trend this far beyond the threshold is a spike: the threshold does not chase it. */
const MAX_ADAPT_OFFSET = 15;
const MAX_ADAPT_STEP_MS = 100;
/** Overuse must last this long (draft §5.4: overuse_time_th, 10 ms) and be seen twice. */
const OVERUSE_TIME_MS = 10;

/**
 * Compares the (modified) delay trend with an adaptive threshold γ (draft-ietf-rmcat-gcc-02 §5.4,
 * §5.5 for the adaptation): above γ for long enough and not falling is overuse, below −γ underuse.
 */
export class OveruseDetector {
  #threshold = INITIAL_THRESHOLD;
  #lastUpdateMs = -1;
  #overusingMs = -1;
  #overuseCount = 0;
  #previousTrend = 0;
  #usage: BandwidthUsage = 'normal';

  get usage(): BandwidthUsage {
    return this.#usage;
  }

  get threshold(): number {
    return this.#threshold;
  }

  /** `modifiedTrend`: the trend scaled by sample count and gain; `sendDeltaMs` of the last group. */
  detect(modifiedTrend: number, trend: number, sendDeltaMs: number, nowMs: number): BandwidthUsage {
    if (modifiedTrend > this.#threshold) {
      // The first sample counts half its interval: overuse started somewhere inside it.
      this.#overusingMs = this.#overusingMs < 0 ? sendDeltaMs / 2 : this.#overusingMs + sendDeltaMs;
      this.#overuseCount++;
      if (this.#overusingMs > OVERUSE_TIME_MS && this.#overuseCount > 1 && trend >= this.#previousTrend) {
        this.#overusingMs = 0;
        this.#overuseCount = 0;
        this.#usage = 'overusing';
      }
    } else {
      this.#overusingMs = -1;
      this.#overuseCount = 0;
      this.#usage = modifiedTrend < -this.#threshold ? 'underusing' : 'normal';
    }
    this.#previousTrend = trend;
    this.#adaptThreshold(modifiedTrend, nowMs);
    return this.#usage;
  }

  /** γ(i) = γ(i−1) + Δt · K(i) · (|m(i)| − γ(i−1)), K fast down and slow up (draft §5.4). */
  #adaptThreshold(modifiedTrend: number, nowMs: number): void {
    if (this.#lastUpdateMs < 0) this.#lastUpdateMs = nowMs;
    const magnitude = Math.abs(modifiedTrend);
    if (magnitude > this.#threshold + MAX_ADAPT_OFFSET) {
      this.#lastUpdateMs = nowMs;
      return;
    }
    const k = magnitude < this.#threshold ? K_DOWN : K_UP;
    const dtMs = Math.min(nowMs - this.#lastUpdateMs, MAX_ADAPT_STEP_MS);
    this.#threshold += k * (magnitude - this.#threshold) * dtMs;
    this.#threshold = Math.min(MAX_THRESHOLD, Math.max(MIN_THRESHOLD, this.#threshold));
    this.#lastUpdateMs = nowMs;
  }
}
