import type { GroupDelta } from './inter-arrival.ts';
import { type BandwidthUsage, OveruseDetector } from './overuse-detector.ts';

const WINDOW = 20;
const SMOOTHING = 0.9;
const THRESHOLD_GAIN = 4;
const MAX_COUNTED_DELTAS = 60;

/**
 * Delay-gradient trend over packet groups, libwebrtc's replacement for the Kalman arrival-time
 * filter of draft-ietf-rmcat-gcc-02 §5.3: the accumulated delay variation, smoothed, and the
 * least-squares slope of it against arrival time over the last 20 groups. A positive slope means
 * queues are growing. The slope, scaled, goes to the OveruseDetector.
 */
export class TrendlineEstimator {
  readonly #detector = new OveruseDetector();
  readonly #xs: number[] = [];
  readonly #ys: number[] = [];
  #firstArrivalMs = -1;
  #accumulatedDelayMs = 0;
  #smoothedDelayMs = 0;
  #deltas = 0;
  #trend = 0;

  get usage(): BandwidthUsage {
    return this.#detector.usage;
  }

  /** Slope of the smoothed delay (ms of delay per ms of time) over the window. */
  get trend(): number {
    return this.#trend;
  }

  update(delta: GroupDelta): BandwidthUsage {
    const variationMs = delta.arrivalDeltaMs - delta.sendDeltaMs;
    this.#deltas = Math.min(this.#deltas + 1, 1000);
    if (this.#firstArrivalMs < 0) this.#firstArrivalMs = delta.arrivalMs;
    this.#accumulatedDelayMs += variationMs;
    this.#smoothedDelayMs = SMOOTHING * this.#smoothedDelayMs + (1 - SMOOTHING) * this.#accumulatedDelayMs;
    this.#xs.push(delta.arrivalMs - this.#firstArrivalMs);
    this.#ys.push(this.#smoothedDelayMs);
    if (this.#xs.length > WINDOW) {
      this.#xs.shift();
      this.#ys.shift();
    }
    if (this.#xs.length === WINDOW) this.#trend = slope(this.#xs, this.#ys) ?? this.#trend;
    if (this.#deltas < 2) return this.#detector.usage;
    const modified = Math.min(this.#deltas, MAX_COUNTED_DELTAS) * this.#trend * THRESHOLD_GAIN;
    return this.#detector.detect(modified, this.#trend, delta.sendDeltaMs, delta.arrivalMs);
  }
}

/** Least-squares slope of y over x; undefined when all x are equal. */
function slope(xs: readonly number[], ys: readonly number[]): number | undefined {
  const n = xs.length;
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < n; i++) {
    sumX += xs[i]!;
    sumY += ys[i]!;
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - meanX;
    num += dx * (ys[i]! - meanY);
    den += dx * dx;
  }
  return den === 0 ? undefined : num / den;
}
