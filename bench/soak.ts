// `npm run bench -- soak`: a bounded soak. The server runs at a share of its measured capacity for
// a fixed time (fan-out rooms of replayed VP8 simulcast) while participants join and leave all
// the time; the server's RSS, CPU and event-loop delay and the subscribers' loss are sampled, and
// once everyone left the server's live objects (dump(), through /metrics) must all be zero.
// Progress on stderr, the JSON summary on stdout, with --write-md a section of BENCHMARKS.md.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureExists, MEDIA_FIXTURE } from './encoded-media.ts';
import { LoadHandle, sumStats } from './load-handle.ts';
import { corePlan, cpuSeconds, rssBytes, type ServerUnderTest, startServer } from './processes.ts';
import { describeMachine } from './report.ts';
import { type Churn, SoakChurn } from './soak-churn.ts';
import {
  capacityFromBenchmarks,
  type Life,
  liveObjects,
  parseDuration,
  parseLife,
  parsePrometheus,
  type SoakSample,
  soakSize,
} from './soak-plan.ts';
import { reportSoak, type SoakRun, summarizeSoak } from './soak-report.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export const SOAK_HELP = `bbmeet bench soak: a bounded soak of the server (not for CI).

The server (bbmeet start, one media worker, loopback) carries --load × --capacity subscribers in
fan-out rooms (--fanout per publisher, VP8 720p simulcast replayed) for --duration, while every
participant (publishers too) stays a random --life and is replaced by a new one. Samples the
server's RSS and CPU (/proc), its event-loop delay (/metrics), the subscribers' loss and the
joins and leaves; at the end everyone leaves and the server's live media objects must be 0.

Options:
  --duration <d>        how long the load runs: 30m (default), 180s, 1h
  --warmup <d>          RSS growth is measured after this (default: a third of the duration, at most 5m)
  --capacity <n>        subscribers the server carries at --fanout (default: the headline step of
                        BENCHMARKS.md's last full run)
  --load <f>            share of the capacity to run at (default 0.7)
  --fanout <n>          subscribers per publisher (default 16)
  --life <min-max>      seconds each participant stays (default 30-120)
  --sample-every <d>    sampling period (default 10s)
  --out <file>          also write the JSON summary (pretty, with every sample) to this file
  --write-md            write the soak section of BENCHMARKS.md
  -h, --help            this help

Exit code 0 when both verdicts pass (RSS growth after warm-up < 5 %, everything empty after
everyone left), 1 otherwise.`;

export interface SoakOptions {
  durationS: number;
  warmupS: number;
  capacity: number;
  capacitySource: string;
  load: number;
  fanout: number;
  life: Life;
  sampleEveryS: number;
  out: string | undefined;
  writeMd: boolean;
}

/** `capacityFromPage`: the capacity BENCHMARKS.md holds, used without --capacity. */
export function parseSoakOptions(argv: string[], capacityFromPage: number | undefined): SoakOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      duration: { type: 'string', default: '30m' },
      warmup: { type: 'string' },
      capacity: { type: 'string' },
      load: { type: 'string', default: '0.7' },
      fanout: { type: 'string', default: '16' },
      life: { type: 'string', default: '30-120' },
      'sample-every': { type: 'string', default: '10s' },
      out: { type: 'string' },
      'write-md': { type: 'boolean', default: false },
    },
  });
  if (v.help) return 'help';
  const durationS = parseDuration(v.duration!);
  const capacity = v.capacity === undefined ? capacityFromPage : Number(v.capacity);
  if (capacity === undefined)
    throw new TypeError('no capacity in BENCHMARKS.md (no full run yet): pass --capacity <subscribers>');
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new TypeError(`--capacity wants a positive integer, got '${v.capacity}'`);
  const load = Number(v.load);
  if (!(load > 0 && load <= 2)) throw new TypeError(`--load wants a share in (0, 2], got '${v.load}'`);
  const fanout = Number(v.fanout);
  if (!Number.isInteger(fanout) || fanout < 1)
    throw new TypeError(`--fanout wants a positive integer, got '${v.fanout}'`);
  return {
    durationS,
    warmupS: v.warmup === undefined ? Math.min(300, durationS / 3) : parseDuration(v.warmup),
    capacity,
    capacitySource:
      v.capacity === undefined ? 'BENCHMARKS.md, headline step of the last full run' : '--capacity',
    load,
    fanout,
    life: parseLife(v.life!),
    sampleEveryS: parseDuration(v['sample-every']!),
    out: v.out,
    writeMd: v['write-md'] === true,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parsePrometheus(await res.text());
}

/** Samples the server and the load every period until `untilMs`; one progress line per sample. */
class Sampler {
  readonly samples: SoakSample[] = [];
  #cpu: { s: number; at: number } | undefined;
  #stats: { lost: number; expected: number } | undefined;

  readonly server: ServerUnderTest;
  readonly loads: LoadHandle[];
  readonly churn: Churn;
  readonly startedMs: number;

  constructor(server: ServerUnderTest, loads: LoadHandle[], churn: Churn, startedMs: number) {
    this.server = server;
    this.loads = loads;
    this.churn = churn;
    this.startedMs = startedMs;
  }

  async sample(): Promise<SoakSample> {
    const now = performance.now();
    const cpu = cpuSeconds(this.server.pid);
    const cores = cpu !== undefined && this.#cpu ? (cpu - this.#cpu.s) / ((now - this.#cpu.at) / 1000) : null;
    if (cpu !== undefined) this.#cpu = { s: cpu, at: now };
    const metrics = await scrape(this.server.baseUrl).catch(() => new Map<string, number>());
    const ms = (name: string) => {
      const s = metrics.get(`bbmeet_nodejs_eventloop_lag_${name}_seconds`);
      return s === undefined ? null : s * 1000;
    };
    const stats = sumStats(await Promise.all(this.loads.map((l) => l.stats())));
    const dExpected = stats.expected - (this.#stats?.expected ?? 0);
    const loss = this.#stats && dExpected > 0 ? (stats.lost - this.#stats.lost) / dExpected : null;
    this.#stats = { lost: stats.lost, expected: stats.expected };
    const rss = rssBytes(this.server.pid);
    const heap = metrics.get('bbmeet_nodejs_heap_size_used_bytes');
    const s: SoakSample = {
      t_s: (now - this.startedMs) / 1000,
      rss_mb: rss === undefined ? null : rss / 2 ** 20,
      heap_used_mb: heap === undefined ? null : heap / 2 ** 20,
      cpu_cores: cores,
      lag_p99_ms: ms('p99'),
      lag_max_ms: ms('max'),
      loss,
      ...this.churn.counts(),
    };
    this.samples.push(s);
    return s;
  }
}

function progressLine(s: SoakSample, durationS: number): string {
  const pct = Math.min(100, Math.round((100 * s.t_s) / durationS));
  const f = (v: number | null, d: number) => (v === null ? '–' : v.toFixed(d));
  return `[${String(pct).padStart(3)}%] ${Math.round(s.t_s)}s rss ${f(s.rss_mb, 1)} MB, heap ${f(s.heap_used_mb, 1)} MB, cpu ${f(s.cpu_cores, 2)}, lag p99 ${f(s.lag_p99_ms, 1)} ms, loss ${s.loss === null ? '–' : (s.loss * 100).toFixed(2)} %, live ${s.live}, joins ${s.joins} (${s.join_failures} failed), leaves ${s.leaves}\n`;
}

/** Polls /metrics until every live object is 0 (or `timeoutMs`); returns the last counts. */
async function waitEmpty(baseUrl: string, timeoutMs: number): Promise<Record<string, number> | undefined> {
  const deadline = performance.now() + timeoutMs;
  let counts: Record<string, number> | undefined;
  for (;;) {
    counts = liveObjects(await scrape(baseUrl).catch(() => new Map<string, number>()));
    const empty = counts !== undefined && Object.values(counts).every((n) => n === 0);
    if (empty || performance.now() > deadline) return counts;
    await sleep(500);
  }
}

export async function runSoak(argv: string[]): Promise<number> {
  let o: SoakOptions | 'help';
  try {
    const page = await readFile(path.join(ROOT, 'BENCHMARKS.md'), 'utf8').catch(() => '');
    o = parseSoakOptions(argv, capacityFromBenchmarks(page));
  } catch (err) {
    process.stderr.write(`bbmeet bench soak: ${(err as Error).message}\nSee --help.\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(`${SOAK_HELP}\n`);
    return 0;
  }
  const cores = corePlan();
  const machine = describeMachine(cores.description);
  const size = soakSize(o.capacity, o.load, o.fanout);
  process.stderr.write(
    `soak: ${size.subscribers} subscribers in ${size.rooms} rooms (${o.load} × ${o.capacity}, ${o.capacitySource}), ${o.durationS}s, life ${o.life.minS}-${o.life.maxS}s\n`,
  );
  const loads = [LoadHandle.spawn(cores.loadCores), LoadHandle.spawn(cores.loadCores)];
  let server: ServerUnderTest | undefined;
  try {
    server = await startServer({ cores: cores.serverCores });
    const framesFile = fixtureExists() ? MEDIA_FIXTURE : undefined;
    for (const l of loads) await l.churn({ type: 'churn-init', framesFile, sampleEvery: 8 });
    const churn = new SoakChurn({ server, publishers: loads[0]!, subscribers: loads[1]!, life: o.life });
    await churn.setUp(size.rooms, size.subscribers, o.fanout);
    const run = await soakLoop(o, server, loads, churn);
    const summary = summarizeSoak({ ...run, options: o, size, machine });
    process.stdout.write(`${JSON.stringify({ ...summary, samples: undefined })}\n`);
    if (o.out) await writeFile(o.out, `${JSON.stringify(summary, null, 2)}\n`);
    if (o.writeMd) await reportSoak(path.join(ROOT, 'BENCHMARKS.md'), summary, run.samples, o.warmupS);
    return summary.verdicts.pass ? 0 : 1;
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await server?.stop();
  }
}

/** Runs the churn and the sampling for the duration, then everyone leaves. */
async function soakLoop(
  o: SoakOptions,
  server: ServerUnderTest,
  loads: LoadHandle[],
  churn: SoakChurn,
): Promise<Omit<SoakRun, 'options' | 'size' | 'machine'>> {
  const startedMs = performance.now();
  const sampler = new Sampler(server, loads, churn, startedMs);
  await sampler.sample();
  let nextSampleMs = startedMs + o.sampleEveryS * 1000;
  const endMs = startedMs + o.durationS * 1000;
  while (performance.now() < endMs) {
    churn.tick(performance.now());
    if (performance.now() >= nextSampleMs) {
      process.stderr.write(progressLine(await sampler.sample(), o.durationS));
      nextSampleMs += o.sampleEveryS * 1000;
    }
    await sleep(Math.min(250, Math.max(0, endMs - performance.now())));
  }
  process.stderr.write(progressLine(await sampler.sample(), o.durationS));
  await churn.drain(60_000);
  const rssLoadedMb = (rssBytes(server.pid) ?? 0) / 2 ** 20;
  await churn.leaveAll();
  const countsAfterLeave = await waitEmpty(server.baseUrl, 30_000);
  const rssAfterLeave = rssBytes(server.pid);
  return {
    samples: sampler.samples,
    counts: churn.counts(),
    countsAfterLeave,
    rssLoadedMb,
    rssAfterLeaveMb: rssAfterLeave === undefined ? null : rssAfterLeave / 2 ** 20,
  };
}
