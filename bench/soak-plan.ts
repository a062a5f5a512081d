// The soak's pure parts: its size from a capacity figure, the churn schedule (how long each
// participant stays), the RSS growth after warm-up, the verdicts and the report's table. No I/O:
// bench/soak.ts does the running, test/bench/soak-units.test.ts checks these.

export interface Life {
  minS: number;
  maxS: number;
}

/** `30m`, `180s`, `1h` or plain seconds → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(h|m|s)?$/.exec(text.trim());
  if (!m) throw new TypeError(`a duration is like 30m, 180s or 1h, got '${text}'`);
  const n = Number(m[1]) * ({ h: 3600, m: 60, s: 1 } as const)[(m[2] ?? 's') as 'h' | 'm' | 's'];
  if (n <= 0) throw new TypeError(`a duration must be positive, got '${text}'`);
  return n;
}

/** `30-120` (seconds) → a participant's lifetime range. */
export function parseLife(text: string): Life {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  const minS = Number(m?.[1]);
  const maxS = Number(m?.[2]);
  if (!m || minS < 1 || maxS < minS)
    throw new TypeError(`--life is MIN-MAX seconds with 1 ≤ MIN ≤ MAX, got '${text}'`);
  return { minS, maxS };
}

/**
 * The capacity the last full bench measured, in subscribers at its fan-out: the headline step of
 * BENCHMARKS.md's "Last run" (the fan-out step with the most packets/s per core among those whose
 * server-added loss stayed ≤ 1 %). Undefined when the page has none or the run was --quick.
 */
export function capacityFromBenchmarks(markdown: string): number | undefined {
  const start = markdown.indexOf('<!-- bench:results:start -->');
  const section = start >= 0 ? markdown.slice(start) : '';
  if (/### Last run \([^)]*--quick\)/.test(section)) return undefined;
  const m = /headline step: fanout (\d+) subscribers/.exec(section);
  return m ? Number(m[1]) : undefined;
}

/** Subscribers and rooms (one publisher each) for `load` × `capacity` at `fanout` per publisher. */
export function soakSize(
  capacity: number,
  load: number,
  fanout: number,
): { subscribers: number; rooms: number; participants: number } {
  const subscribers = Math.max(1, Math.round(capacity * load));
  const rooms = Math.ceil(subscribers / Math.max(1, fanout));
  return { subscribers, rooms, participants: subscribers + rooms };
}

/** How long a participant that joins now stays: uniform in the range. `random` is in [0, 1). */
export function lifetimeMs(life: Life, random: () => number): number {
  return Math.round((life.minS + random() * (life.maxS - life.minS)) * 1000);
}

/**
 * The first participants' lifetimes, spread from a third of the shortest life to the longest so
 * that replacements start soon and never come as one wave (a steady churn from the start).
 */
export function firstLifetimeMs(life: Life, random: () => number): number {
  const fromS = life.minS / 3;
  return Math.round((fromS + random() * (life.maxS - fromS)) * 1000);
}

/** Participants due to leave at `nowMs`, soonest first, at most `free` (the operations in flight). */
export function dueSlots<T extends { leaveAtMs: number; busy: boolean }>(
  slots: T[],
  nowMs: number,
  free: number,
): T[] {
  return slots
    .filter((s) => !s.busy && s.leaveAtMs <= nowMs)
    .sort((a, b) => a.leaveAtMs - b.leaveAtMs)
    .slice(0, Math.max(0, free));
}

export interface SoakSample {
  /** Seconds since the load started. */
  t_s: number;
  rss_mb: number | null;
  /** The main thread's V8 heap in use (the media worker's is in RSS only). */
  heap_used_mb: number | null;
  cpu_cores: number | null;
  lag_p99_ms: number | null;
  lag_max_ms: number | null;
  /** Loss the subscribers saw since the previous sample (by sequence gaps). */
  loss: number | null;
  live: number;
  joins: number;
  join_failures: number;
  leaves: number;
  leave_failures: number;
}

const median = (values: number[]): number => {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
};

/**
 * RSS growth after warm-up: the median of the last tenth of the samples taken after `warmupS`
 * (at least 3 when there are enough) against the median of the first tenth. Medians, because
 * the garbage collector moves RSS up and down between two samples. Null with fewer than 2 samples.
 */
export function rssGrowth(
  samples: SoakSample[],
  warmupS: number,
): { baseline_mb: number; end_mb: number; growth: number; samples: number } | null {
  const rss = samples.filter((s) => s.t_s >= warmupS && s.rss_mb !== null).map((s) => s.rss_mb as number);
  if (rss.length < 2) return null;
  const window = Math.min(Math.floor(rss.length / 2), Math.max(3, Math.ceil(rss.length / 10)));
  const baseline = median(rss.slice(0, Math.max(1, window)));
  const end = median(rss.slice(-Math.max(1, window)));
  return { baseline_mb: baseline, end_mb: end, growth: (end - baseline) / baseline, samples: rss.length };
}

export const RSS_GROWTH_LIMIT = 0.05;

export interface Verdicts {
  /** RSS grew less than 5 % after warm-up (null: not enough samples after warm-up). */
  rss_growth_ok: boolean | null;
  /** Every live-object count of the server was 0 once all participants had left. */
  dump_empty: boolean;
  pass: boolean;
}

export function verdicts(
  growth: ReturnType<typeof rssGrowth>,
  countsAfterLeave: Record<string, number> | undefined,
): Verdicts {
  const rssOk = growth === null ? null : growth.growth < RSS_GROWTH_LIMIT;
  const dumpEmpty =
    countsAfterLeave !== undefined &&
    Object.keys(countsAfterLeave).length > 0 &&
    Object.values(countsAfterLeave).every((n) => n === 0);
  return { rss_growth_ok: rssOk, dump_empty: dumpEmpty, pass: rssOk === true && dumpEmpty };
}

/** At most `rows` samples, evenly spaced, the first and the last always kept. */
export function thin<T>(samples: T[], rows: number): T[] {
  if (samples.length <= rows) return samples;
  const out: T[] = [];
  for (let i = 0; i < rows; i++) out.push(samples[Math.round((i * (samples.length - 1)) / (rows - 1))]!);
  return out;
}

const cell = (v: number | null, digits: number) => (v === null ? '–' : v.toFixed(digits));

/** The RSS-over-time table of the report (markdown). */
export function rssTable(samples: SoakSample[], warmupS: number, rows = 16): string {
  const lines = thin(samples, rows).map(
    (s) =>
      `| ${formatClock(s.t_s)}${s.t_s < warmupS ? ' (warm-up)' : ''} | ${cell(s.rss_mb, 1)} | ${cell(s.heap_used_mb, 1)} | ${cell(s.cpu_cores, 2)} | ${cell(s.lag_p99_ms, 1)} / ${cell(s.lag_max_ms, 1)} | ${s.loss === null ? '–' : (s.loss * 100).toFixed(2)} | ${s.live} | ${s.joins} (${s.join_failures} failed) | ${s.leaves} |`,
  );
  return [
    '| time | server RSS MB | main-thread heap used MB | server CPU (cores) | event-loop delay p99 / max ms | loss % | participants | joins | leaves |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...lines,
  ].join('\n');
}

export function formatClock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Prometheus text → `name{labels}` → value (the samples only; comments skipped). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const value = Number(line.slice(i + 1));
    if (i > 0 && Number.isFinite(value)) out.set(line.slice(0, i), value);
  }
  return out;
}

/** `bbmeet_media_objects{kind}` plus signalling's rooms, participants and connections, by name. */
export function liveObjects(metrics: Map<string, number>): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const [key, value] of metrics) {
    const m = /^bbmeet_media_objects\{kind="([a-z_]+)"\}$/.exec(key);
    if (m) out[`media_${m[1]}`] = value;
  }
  if (Object.keys(out).length === 0) return undefined;
  for (const name of ['bbmeet_rooms', 'bbmeet_participants', 'bbmeet_socket_connections']) {
    const v = metrics.get(name);
    if (v !== undefined) out[name.slice('bbmeet_'.length)] = v;
  }
  return out;
}
