// The server's own forwarding latency (bbmeet_media_forwarding_latency_seconds, measured in the
// media workers from the kernel's receive time to the copies' send) over a measuring window: two
// scrapes of /metrics, the bucket counts subtracted, quantiles interpolated within a bucket as
// Prometheus' histogram_quantile does.

const METRIC = 'bbmeet_media_forwarding_latency_seconds_bucket';

/** Cumulative bucket counts by upper bound (seconds; Infinity for +Inf), summed over workers. */
export type LatencyBuckets = Map<number, number>;

/**
 * The histogram's buckets in a Prometheus text exposition (empty when the server has none);
 * `metric`: another histogram's `_bucket` series.
 */
export function parseLatencyBuckets(text: string, metric = METRIC): LatencyBuckets {
  const buckets: LatencyBuckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

export async function scrapeLatencyBuckets(baseUrl: string): Promise<LatencyBuckets> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parseLatencyBuckets(await res.text());
}

/**
 * The q-quantile (0..1) in milliseconds of what was observed between `before` and `after`, or null
 * without observations. Linear within the bucket that holds it; in the +Inf bucket, the highest
 * finite bound (a floor).
 */
export function latencyQuantileMs(before: LatencyBuckets, after: LatencyBuckets, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [i, bound] of bounds.entries()) {
    const count = counts[i]!;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lower * 1000;
      const within = count - below;
      return (lower + (within > 0 ? ((rank - below) / within) * (bound - lower) : 0)) * 1000;
    }
    lower = bound;
    below = count;
  }
  return lower * 1000;
}
