// The server's own packet counter over a measuring window: RTP it wrote to subscribers
// (bbmeet_media_forwarded_packets_total, summed over workers), read from /metrics. Set beside what
// the load peers received, it tells loss the server added from loss at the receivers (a load
// generator too busy to read its sockets).

const FORWARDED = 'bbmeet_media_forwarded_packets_total';
/** The workers report their counters about once a second: a read waits for the next report. */
const POLL_MS = 50;
const FRESH_WITHIN_MS = 1500;

/** The sum of a counter's series in a Prometheus text exposition; undefined when absent. */
export function readCounter(text: string, metric: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${metric} `) || line.startsWith(`${metric}{`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

async function scrape(baseUrl: string): Promise<number | undefined> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return readCounter(await res.text(), FORWARDED);
}

/**
 * The forwarded-packets counter just after a worker report, and when it was read: polled until it
 * moves (bounded), so two readings bracket their window to within POLL_MS instead of the report
 * period. Undefined when the server has no such counter.
 */
export async function sampleForwarded(
  baseUrl: string,
): Promise<{ packets: number; atMs: number } | undefined> {
  const first = await scrape(baseUrl);
  if (first === undefined) return undefined;
  const deadline = performance.now() + FRESH_WITHIN_MS;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const now = await scrape(baseUrl);
    if (now !== undefined && now !== first) return { packets: now, atMs: performance.now() };
  }
  return { packets: first, atMs: performance.now() };
}

/** Packets/s between two samples; null when either is missing or they coincide. */
export function forwardedRate(
  a: { packets: number; atMs: number } | undefined,
  b: { packets: number; atMs: number } | undefined,
): number | null {
  if (!a || !b || b.atMs <= a.atMs) return null;
  return ((b.packets - a.packets) * 1000) / (b.atMs - a.atMs);
}
