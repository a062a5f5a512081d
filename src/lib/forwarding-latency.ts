/**
 * The forwarding latency of one thread (a media worker): from the moment a publisher's packet
 * reached the host (the kernel's receive time, receive-clock.ts) to the moment the worker handed
 * its copies to the kernel, as a histogram of fixed buckets kept in plain numbers. The packet path
 * adds one observation per received packet that was forwarded (no allocation); the worker sends
 * a snapshot with its media report once a second and /metrics exports the buckets
 * (`bbmeet_media_forwarding_latency_seconds`, media-metrics.ts).
 *
 * What it covers: the wait in the socket buffer and for the worker's thread, decryption, the
 * routing and the protection and send of every copy. Copies relayed to another worker are sent
 * there and not timed. Without the native addon the start is when JavaScript saw the packet, so
 * the wait before it is missing.
 */

/** Upper bounds of the buckets, seconds (Prometheus `le`); one more bucket holds the rest. */
export const FORWARDING_LATENCY_BOUNDS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;

const BOUNDS_US = FORWARDING_LATENCY_BOUNDS_SECONDS.map((s) => s * 1e6);

/** A histogram: counts per bucket (not cumulative; the last one is above every bound), sum, count. */
export interface LatencyHistogram {
  counts: number[];
  sumSeconds: number;
  count: number;
}

const counts = new Float64Array(BOUNDS_US.length + 1);
let sumUs = 0;
let total = 0;

/** One forwarded packet's latency, microseconds. */
export function observeForwardingLatencyUs(latencyUs: number): void {
  // NaN (no arrival) and a clock read backwards count as 0.
  const us = Number.isFinite(latencyUs) && latencyUs > 0 ? latencyUs : 0;
  let i = 0;
  while (i < BOUNDS_US.length && us > BOUNDS_US[i]!) i++;
  counts[i]!++;
  sumUs += us;
  total++;
}

/** The histogram of this thread since it started (taken once a second, never per packet). */
export function snapshotForwardingLatency(): LatencyHistogram {
  return { counts: Array.from(counts), sumSeconds: sumUs / 1e6, count: total };
}

export function emptyLatencyHistogram(): LatencyHistogram {
  return { counts: new Array<number>(BOUNDS_US.length + 1).fill(0), sumSeconds: 0, count: 0 };
}

/** Two histograms added (a worker's totals across its restarts); a malformed one counts as empty. */
export function addLatencyHistograms(a: LatencyHistogram, b: LatencyHistogram | undefined): LatencyHistogram {
  const out = emptyLatencyHistogram();
  for (const h of [a, b]) {
    if (!h || !Array.isArray(h.counts)) continue;
    for (let i = 0; i < out.counts.length; i++) out.counts[i]! += finite(h.counts[i]);
    out.sumSeconds += finite(h.sumSeconds);
    out.count += finite(h.count);
  }
  return out;
}

function finite(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}
