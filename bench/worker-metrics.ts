// What each media worker of the server under test did over a measuring window, from two scrapes of
// its /metrics: packets forwarded and CPU per worker (bbmeet_media_forwarded_packets_total,
// bbmeet_media_worker_cpu_seconds_total), subscriptions homed there, and the cross-worker relays
// (bbmeet_media_objects relays / remote_tracks, bbmeet_media_relayed_packets_total). The multicore scenario reads it to check that a
// room spanning workers does spread over them and that packets are relayed between them.

/** One scrape: counters and gauges by worker index, and the relay objects of the whole process. */
export interface WorkerScrape {
  forwarded: Map<number, number>;
  cpuSeconds: Map<number, number>;
  subscriptions: Map<number, number>;
  downTracks: Map<number, number>;
  /** RTP packets handed to another worker, and received from one (bbmeet_media_relayed_packets_total). */
  relayedSent: Map<number, number>;
  relayedReceived: Map<number, number>;
  /** Published tracks relayed to another worker (one per track and destination worker). */
  relays: number;
  /** Proxies of tracks published on another worker. */
  remoteTracks: number;
}

/** One worker's share of a window. */
export interface WorkerShare {
  worker: number;
  forwarded_pps: number;
  cpu_cores: number;
  subscriptions: number;
  down_tracks: number;
  /** Packets/s it handed to the other worker(s), and received from them. */
  relayed_sent_pps: number;
  relayed_received_pps: number;
}

const SERIES: Array<[string, Exclude<keyof WorkerScrape, 'relays' | 'remoteTracks'>]> = [
  ['bbmeet_media_forwarded_packets_total', 'forwarded'],
  ['bbmeet_media_worker_cpu_seconds_total', 'cpuSeconds'],
  ['bbmeet_media_worker_subscriptions', 'subscriptions'],
  ['bbmeet_media_worker_down_tracks', 'downTracks'],
];

/** Parses a Prometheus text exposition (lines it does not know are skipped; bad values too). */
export function parseWorkerMetrics(text: string): WorkerScrape {
  const out: WorkerScrape = {
    forwarded: new Map(),
    cpuSeconds: new Map(),
    subscriptions: new Map(),
    downTracks: new Map(),
    relayedSent: new Map(),
    relayedReceived: new Map(),
    relays: 0,
    remoteTracks: 0,
  };
  for (const line of text.split('\n')) {
    const brace = line.indexOf('{');
    if (brace <= 0) continue;
    const name = line.slice(0, brace);
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    if (name === 'bbmeet_media_objects') {
      const kind = /kind="([^"]+)"/.exec(line)?.[1];
      if (kind === 'relays') out.relays = value;
      else if (kind === 'remote_tracks') out.remoteTracks = value;
      continue;
    }
    const direction = /direction="(sent|received)"/.exec(line)?.[1];
    const field =
      name === 'bbmeet_media_relayed_packets_total'
        ? direction === 'sent'
          ? 'relayedSent'
          : direction === 'received'
            ? 'relayedReceived'
            : undefined
        : SERIES.find(([n]) => n === name)?.[1];
    if (!field) continue;
    const worker = Number(/worker="(\d+)"/.exec(line)?.[1]);
    if (!Number.isInteger(worker)) continue;
    out[field].set(worker, (out[field].get(worker) ?? 0) + value);
  }
  return out;
}

export async function scrapeWorkers(baseUrl: string): Promise<WorkerScrape> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parseWorkerMetrics(await res.text());
}

/**
 * Each worker's share of a window of `seconds` between two scrapes: rates from the counters,
 * gauges as read at the end. The workers report about once a second, so a rate may be off by up
 * to a second's worth over the window.
 */
export function workerShares(before: WorkerScrape, after: WorkerScrape, seconds: number): WorkerShare[] {
  const workers = [...new Set([...after.forwarded.keys(), ...after.cpuSeconds.keys()])].sort((a, b) => a - b);
  const rate = (m: 'forwarded' | 'cpuSeconds' | 'relayedSent' | 'relayedReceived', w: number) =>
    seconds > 0 ? Math.max(0, (after[m].get(w) ?? 0) - (before[m].get(w) ?? 0)) / seconds : 0;
  return workers.map((worker) => ({
    worker,
    forwarded_pps: rate('forwarded', worker),
    cpu_cores: rate('cpuSeconds', worker),
    subscriptions: after.subscriptions.get(worker) ?? 0,
    down_tracks: after.downTracks.get(worker) ?? 0,
    relayed_sent_pps: rate('relayedSent', worker),
    relayed_received_pps: rate('relayedReceived', worker),
  }));
}
