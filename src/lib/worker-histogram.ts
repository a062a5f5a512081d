/**
 * A histogram of one thread (a media worker) in fixed buckets, kept in plain numbers: `observe`
 * is a short loop over the bounds and three additions (no allocation, no metrics library), cheap
 * enough for the packet path. The worker sends `snapshot()` with its media report once a second;
 * the process that serves /metrics adds up a worker's snapshots across its restarts
 * (`addHistograms`) and formats them as a Prometheus histogram (media-metrics.ts).
 */

/** Counts per bucket (not cumulative; the last one is above every bound), sum and count of the values. */
export interface HistogramSnapshot {
  counts: number[];
  sum: number;
  count: number;
}

/** Lifecycle: one per metric per thread, for the thread's life (totals since it started). */
export class WorkerHistogram {
  /** Upper bounds of the buckets (Prometheus `le`, inclusive), ascending; one more bucket holds the rest. */
  readonly bounds: readonly number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** One value; NaN, infinities and negative values count as 0 (a clock read backwards). */
  observe(value: number): void {
    const v = value > 0 && value < Number.POSITIVE_INFINITY ? value : 0;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += v;
    this.#count++;
  }

  /** The totals now (taken once a second, never per packet). */
  snapshot(): HistogramSnapshot {
    return { counts: Array.from(this.#counts), sum: this.#sum, count: this.#count };
  }
}

/** A histogram of `bounds` with nothing in it. */
export function emptyHistogram(bounds: readonly number[]): HistogramSnapshot {
  return { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

/**
 * Two snapshots of `bounds` added bucket by bucket (a worker's totals across its restarts); a
 * missing or malformed one (a report of an older build) counts as empty.
 */
export function addHistograms(
  bounds: readonly number[],
  a: HistogramSnapshot | undefined,
  b: HistogramSnapshot | undefined,
): HistogramSnapshot {
  const out = emptyHistogram(bounds);
  for (const h of [a, b]) {
    if (!h || !Array.isArray(h.counts)) continue;
    for (let i = 0; i < out.counts.length; i++) out.counts[i]! += positive(h.counts[i]);
    out.sum += positive(h.sum);
    out.count += positive(h.count);
  }
  return out;
}

function positive(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}
