// The soak's results: the JSON summary (figures, verdicts, samples) and its section of
// BENCHMARKS.md (figures, verdicts and the RSS-over-time table, between the soak markers).
import { type Machine, machineLines, writeSection } from './report.ts';
import type { SoakOptions } from './soak.ts';
import type { ChurnCounts } from './soak-churn.ts';
import {
  formatClock,
  RSS_GROWTH_LIMIT,
  rssGrowth,
  rssTable,
  type SoakSample,
  verdicts,
} from './soak-plan.ts';
import { percentile, round } from './stats.ts';

export interface SoakRun {
  options: SoakOptions;
  size: { subscribers: number; rooms: number; participants: number };
  machine: Machine;
  samples: SoakSample[];
  counts: ChurnCounts;
  /** Live objects (bbmeet_media_objects and signalling's gauges) once everyone left. */
  countsAfterLeave: Record<string, number> | undefined;
  rssLoadedMb: number;
  rssAfterLeaveMb: number | null;
}

export function summarizeSoak(run: SoakRun) {
  const o = run.options;
  const after = run.samples.filter((s) => s.t_s >= o.warmupS);
  const values = (pick: (s: SoakSample) => number | null) =>
    after.map(pick).filter((v): v is number => v !== null);
  const lag = values((s) => s.lag_p99_ms);
  const lagMax = values((s) => s.lag_max_ms);
  const loss = values((s) => s.loss);
  const cpu = values((s) => s.cpu_cores);
  const growth = rssGrowth(run.samples, o.warmupS);
  return {
    bench: 'bbmeet-soak',
    machine: run.machine,
    duration_s: o.durationS,
    warmup_s: o.warmupS,
    capacity_subscribers: o.capacity,
    capacity_source: o.capacitySource,
    load: o.load,
    fanout: o.fanout,
    subscribers: run.size.subscribers,
    rooms: run.size.rooms,
    life_s: [o.life.minS, o.life.maxS],
    ...run.counts,
    server_cpu_cores_p50: cpu.length ? round(percentile(cpu, 0.5), 3) : null,
    event_loop_delay_p99_ms_p50: lag.length ? round(percentile(lag, 0.5), 2) : null,
    event_loop_delay_p99_ms_max: lag.length ? round(Math.max(...lag), 2) : null,
    event_loop_delay_max_ms: lagMax.length ? round(Math.max(...lagMax), 2) : null,
    loss_p50: loss.length ? round(percentile(loss, 0.5), 5) : null,
    loss_max: loss.length ? round(Math.max(...loss), 5) : null,
    rss_baseline_mb: round(growth?.baseline_mb, 1),
    rss_end_mb: round(growth?.end_mb, 1),
    rss_growth: growth ? round(growth.growth, 4) : null,
    rss_loaded_mb: round(run.rssLoadedMb, 1),
    rss_after_leave_mb: round(run.rssAfterLeaveMb ?? undefined, 1),
    live_after_leave: run.countsAfterLeave ?? null,
    verdicts: verdicts(growth, run.countsAfterLeave),
    samples: run.samples.map((s) =>
      Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? round(v, 4) : v])),
    ),
  };
}

export type SoakSummary = ReturnType<typeof summarizeSoak>;

const yes = (v: boolean | null) => (v === null ? 'not measured' : v ? '**pass**' : '**FAIL**');

export async function reportSoak(
  file: string,
  s: SoakSummary,
  samples: SoakSample[],
  warmupS: number,
): Promise<void> {
  const after = s.live_after_leave
    ? Object.entries(s.live_after_leave)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'not read';
  const section = [
    `### Last soak (${new Date().toISOString().slice(0, 16)}Z, ${formatClock(s.duration_s)})`,
    '',
    machineLines(s.machine),
    `- Load: ${s.subscribers} subscribers in ${s.rooms} rooms (${s.fanout} per publisher) = ${s.load} × ${s.capacity_subscribers} (${s.capacity_source}); each participant stays ${s.life_s[0]}–${s.life_s[1]} s; warm-up ${formatClock(s.warmup_s)}`,
    `- Joins ${s.joins} (${s.join_failures} failed), leaves ${s.leaves} (${s.leave_failures} failed)`,
    `- Server CPU p50 ${s.server_cpu_cores_p50 ?? '–'} cores; event-loop delay p99 (per sample) median ${s.event_loop_delay_p99_ms_p50 ?? '–'} ms, worst ${s.event_loop_delay_p99_ms_max ?? '–'} ms, max ${s.event_loop_delay_max_ms ?? '–'} ms (main thread); loss per sample median ${pct(s.loss_p50)}, worst ${pct(s.loss_max)}`,
    '',
    `- RSS growth after warm-up < ${RSS_GROWTH_LIMIT * 100} %: ${yes(s.verdicts.rss_growth_ok)} (${s.rss_baseline_mb ?? '–'} MB → ${s.rss_end_mb ?? '–'} MB, ${s.rss_growth === null ? '–' : `${(s.rss_growth * 100).toFixed(2)} %`}); ${s.rss_after_leave_mb ?? '–'} MB after everyone left`,
    `- Everything empty after everyone left (dump() through /metrics): ${yes(s.verdicts.dump_empty)} (${after})`,
    '',
    rssTable(samples, warmupS),
  ].join('\n');
  await writeSection(file, 'soak', section);
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)} %`);
