// The bench's one-line JSON summary of its steps, and the sections of BENCHMARKS.md and the chart
// written from it with --write-md.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { goalsTable } from './goals.ts';
import type { IdleMemory } from './idle-memory.ts';
import type { MulticoreFigures, MulticoreStep } from './multicore.ts';
import { multicoreTable } from './multicore-report.ts';
import type { Options } from './options.ts';
import type { ProfiledPass } from './profile-pass.ts';
import {
  costsTable,
  type describeMachine,
  forwardingSvg,
  machineLines,
  stepsTable,
  writeSection,
} from './report.ts';
import { emptyRoomsSummary, type RoomsSummary } from './rooms.ts';
import { ROOMS_FIGURE_KEYS } from './rooms-report.ts';
import type { SignallingFigures } from './signalling-figures.ts';
import { percentile, round } from './stats.ts';
import type { StepResult } from './step-types.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export type Summary = ReturnType<typeof summarize> & SignallingFigures;

function latencyOverRaw(
  step: StepResult | undefined,
  raw: StepResult[],
  key: 'latency_p50_ms' | 'latency_p99_ms',
): number | null {
  const same = raw.find((r) => r.size === step?.size);
  const a = step?.[key];
  const b = same?.[key];
  return a === null || a === undefined || b === null || b === undefined ? null : round(a - b, 3);
}

/** Loss the server adds: beyond what the raw forwarder lost under the same load (the load
 * generator drops packets too when its core is busy). */
function serverLoss(r: StepResult, raw: StepResult[]): number {
  return Math.max(0, r.loss - (raw.find((x) => x.size === r.size)?.loss ?? 0));
}

/**
 * The headline: the UDP fan-out step with the most packets/s per core among those whose
 * server-added loss is ≤ 1 % (else the one with the least).
 */
/**
 * The worst end-to-end latency p99 among the BBMEET steps below saturation: the server under 90 % of
 * its cores, the loss it adds at most 1 %, the load generator not pinned at its own cores (else it is
 * the load generator's tail). With the step it came from, or null when no step qualifies.
 */
export function worstP99BelowSaturation(
  results: StepResult[],
  serverCores: number,
  loadCores: number,
): { p99: number; step: string } | null {
  const raw = results.filter((r) => r.system === 'raw_udp');
  let worst: { p99: number; step: string } | null = null;
  for (const r of results) {
    if (r.system !== 'bbmeet' || r.latency_p99_ms === null || r.latency_samples === 0) continue;
    if (r.cpu_cores >= 0.9 * serverCores || serverLoss(r, raw) > 0.01) continue;
    if (r.load_cpu_cores >= 0.9 * loadCores) continue;
    if (!worst || r.latency_p99_ms > worst.p99)
      worst = { p99: r.latency_p99_ms, step: `${r.scenario} ${r.size}` };
  }
  return worst;
}

export function headlineStep(results: StepResult[]): StepResult | undefined {
  const fanout = results.filter((r) => r.system === 'bbmeet' && r.scenario === 'fanout');
  const raw = results.filter((r) => r.system === 'raw_udp');
  const clean = fanout.filter((r) => serverLoss(r, raw) <= 0.01 && r.out_pps > 0);
  return (
    [...clean].sort((a, b) => b.out_pps_per_core - a.out_pps_per_core)[0] ??
    [...fanout].sort((a, b) => serverLoss(a, raw) - serverLoss(b, raw))[0]
  );
}

export function summarize(
  o: Options,
  machine: ReturnType<typeof describeMachine>,
  results: StepResult[],
  viewers: Array<{ firstRtpMs: number | null; firstFrameMs: number | null; frameWidth: number }>,
  skipped: Record<string, string>,
  encodedMedia: boolean,
  rooms: RoomsSummary = emptyRoomsSummary(),
  idle?: IdleMemory,
) {
  const fanout = results.filter((r) => r.system === 'bbmeet' && r.scenario === 'fanout');
  const raw = results.filter((r) => r.system === 'raw_udp');
  const headline = headlineStep(results);
  // Latency "at half load": the fan-out step forwarding closest to half the headline's packets/s.
  const halfPps = (headline?.out_pps ?? 0) / 2;
  const half = [...fanout]
    .filter((r) => r.latency_samples > 0)
    .sort((a, b) => Math.abs(a.out_pps - halfPps) - Math.abs(b.out_pps - halfPps))[0];
  const largest = [...fanout].sort((a, b) => b.size - a.size)[0];
  const rawAtHeadline = raw.find((r) => r.size === headline?.size) ?? raw[0];
  const werift = results.find((r) => r.system === 'werift');
  const tcp = results.find((r) => r.system === 'bbmeet_tcp');
  const udpAtTcp = fanout.find((r) => r.size === tcp?.size);
  const audio = results.filter((r) => r.scenario === 'audio').sort((a, b) => b.size - a.size)[0];
  const meeting = results.filter((r) => r.scenario === 'meeting').sort((a, b) => b.size - a.size)[0];
  // The bench pins the server and the load to halves of the machine (one core each on two).
  const serverHalf = Math.max(1, Math.floor(machine.cores / 2));
  const worst = worstP99BelowSaturation(results, serverHalf, Math.max(1, machine.cores - serverHalf));
  const frames = viewers.map((v) => v.firstFrameMs).filter((v): v is number => v !== null);
  const firstRtp = viewers.map((v) => v.firstRtpMs).filter((v): v is number => v !== null);
  if (!headline) skipped.fanout = 'the fanout scenario was not run';
  if (!rawAtHeadline) skipped.raw_udp = skipped.fanout ?? 'disabled by --no-raw';
  if (!werift) skipped.werift = skipped.fanout ?? 'disabled by --no-werift';
  if (!tcp) skipped.ice_tcp = skipped.fanout ?? 'disabled by --no-tcp';
  if (viewers.length > 0 && frames.length === 0)
    skipped.first_frame = encodedMedia
      ? 'no Chromium viewer decoded a frame within 10 s'
      : 'synthetic frames cannot be decoded';
  else if (viewers.length === 0) skipped.first_frame = skipped.chromium ?? 'no Chromium viewer ran';
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? round(a / b, 3) : null;
  return {
    bench: 'bbmeet',
    quick: o.quick,
    machine,
    replayed_video: encodedMedia
      ? 'VP8 encoded once by Chromium (WebCodecs), 2 s group of pictures'
      : 'synthetic VP8 frames',
    load_pacing: o.unpaced
      ? 'unpaced (--unpaced): each frame in one burst, the publishers of a load process in step'
      : 'paced as browsers send: 2.5x the media rate, publishers at random frame phases',
    /** The media worker threads' nice value in the headline step (MEDIA_WORKER_NICE, where permitted). */
    media_worker_nice: headline?.media_worker_nice ?? null,
    headline_step: headline
      ? `fanout ${headline.size} subscribers (${o.fanout || headline.size} per publisher)`
      : null,
    out_pps_per_core: round(headline?.out_pps_per_core, 0),
    ratio_vs_raw_udp: ratio(headline?.out_pps_per_core, rawAtHeadline?.out_pps_per_core),
    ratio_vs_werift: ratio(headline?.out_pps_per_core, werift?.out_pps_per_core),
    raw_udp_out_pps_per_core: round(rawAtHeadline?.out_pps_per_core, 0),
    werift_out_pps_per_core: round(werift?.out_pps_per_core, 0),
    werift_loss: round(werift?.loss, 4),
    // The same fan-out with every load peer on ICE-TCP, and its ratio to UDP at the same size.
    ice_tcp_out_pps_per_core: round(tcp?.out_pps_per_core, 0),
    ice_tcp_ratio_vs_udp: ratio(tcp?.out_pps_per_core, udpAtTcp?.out_pps_per_core),
    ice_tcp_loss: round(tcp?.loss, 5),
    ice_tcp_step: tcp ? `fanout ${tcp.size} subscribers over ICE-TCP` : null,
    out_pps: round(headline?.out_pps, 0),
    server_cpu_cores: round(headline?.cpu_cores, 3),
    cpu_millicores_per_video_sub: round(headline?.cpu_millicores_per_subscription, 3),
    cpu_millicores_per_audio_listener:
      audio && audio.size > 0 ? round((audio.cpu_cores * 1000) / audio.size, 3) : null,
    cpu_millicores_per_meeting_stream: round(meeting?.cpu_millicores_per_subscription, 3),
    latency_p50_ms: round(half?.latency_p50_ms, 3),
    latency_p99_ms: round(half?.latency_p99_ms, 3),
    // Measured inside the server (its workers' histogram): no load generator in it.
    server_latency_p50_ms: round(half?.server_latency_p50_ms, 3),
    server_latency_p99_ms: round(half?.server_latency_p99_ms, 3),
    // The worst end-to-end p99 below saturation (the issue's 50 ms bound), and its step.
    e2e_latency_p99_ms_max_below_saturation: round(worst?.p99, 3),
    e2e_latency_p99_worst_step: worst?.step ?? null,
    latency_step: half
      ? `fanout ${half.size} (${Math.round(half.out_pps)} pps, server at ${half.cpu_cores.toFixed(2)} cores)`
      : null,
    // The load generator's own delays are in both: the raw forwarder's latency at the same size is
    // that floor, so the difference is what the server adds.
    latency_over_raw_p50_ms: latencyOverRaw(half, raw, 'latency_p50_ms'),
    latency_over_raw_p99_ms: latencyOverRaw(half, raw, 'latency_p99_ms'),
    raw_udp_latency_p50_ms: round(rawAtHeadline?.latency_p50_ms, 3),
    raw_udp_latency_p99_ms: round(rawAtHeadline?.latency_p99_ms, 3),
    first_frame_p50_ms: frames.length ? round(percentile(frames, 0.5), 0) : null,
    first_frame_p95_ms: frames.length ? round(percentile(frames, 0.95), 0) : null,
    chromium_first_rtp_p50_ms: firstRtp.length ? round(percentile(firstRtp, 0.5), 0) : null,
    chromium_viewers: viewers.length,
    join_first_rtp_p50_ms: round(largest?.join_first_rtp_p50_ms, 0),
    join_first_rtp_p95_ms: round(largest?.join_first_rtp_p95_ms, 0),
    rss_mb_per_participant: round(largest?.rss_mb_per_participant, 3),
    // `bbmeet start` idle with one media worker per core (the load steps run one): the median of
    // the starts on a warm compile cache, and the first start (empty cache) beside it.
    idle_rss_mb: round(idle?.rssMbP50, 1),
    idle_rss_anon_mb: round(idle?.rssAnonMbP50, 1),
    idle_rss_file_mb: round(idle?.rssFileMbP50, 1),
    idle_rss_first_start_mb: round(idle?.firstStartRssMb, 1),
    idle_media_workers: idle?.workers ?? null,
    ready_ms: round(idle?.readyMsP50, 0),
    loss: round(headline?.loss, 5),
    server_added_loss: headline ? round(serverLoss(headline, raw), 5) : null,
    packets_forwarded: round(
      results.reduce((s, r) => s + r.out_pps * r.seconds, 0),
      0,
    ),
    // The big rooms (bench/rooms.ts): measured capacities, extrapolations in their own keys.
    ...rooms,
    skipped,
    steps: results.map(roundStep),
  };
}

/** A step for the JSON summary: its numbers rounded to 3 decimals. */
export function roundStep(r: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v, 3) : v]));
}

export async function writeReport(
  o: Options,
  summary: Summary &
    Omit<MulticoreFigures, 'multicore'> & { forwarding_alloc_bytes_per_packet: number | null },
  results: StepResult[],
  /** The profiled fan-out pass (--profile): its top costs, under the pass they came from. */
  profiled: ProfiledPass | undefined,
  multicoreSteps: MulticoreStep[] = [],
) {
  const fanoutPoints = (system: string) =>
    results
      .filter((r) => r.system === system && r.scenario === 'fanout')
      .map((r) => ({ subs: r.size, pps: r.out_pps, loss: r.loss }));
  const svg = forwardingSvg(
    [
      { name: 'BBMEET (DTLS-SRTP)', color: '#1f77b4', points: fanoutPoints('bbmeet') },
      { name: 'raw dgram fan-out (no crypto)', color: '#2ca02c', points: fanoutPoints('raw_udp') },
      { name: 'werift forwarder', color: '#d62728', points: fanoutPoints('werift') },
      { name: 'BBMEET over ICE-TCP', color: '#9467bd', points: fanoutPoints('bbmeet_tcp') },
    ],
    `Forwarded packets/s and loss vs subscribers (${o.fanout || 'all'} subscribers per publisher)`,
  );
  await mkdir(path.join(ROOT, 'docs'), { recursive: true });
  await writeFile(path.join(ROOT, 'docs', 'bench-forwarding.svg'), svg);
  const keys = [
    'out_pps_per_core',
    'ratio_vs_raw_udp',
    'ratio_vs_werift',
    'ice_tcp_out_pps_per_core',
    'ice_tcp_ratio_vs_udp',
    'cpu_millicores_per_video_sub',
    'cpu_millicores_per_audio_listener',
    'latency_p50_ms',
    'latency_p99_ms',
    'e2e_latency_p99_ms_max_below_saturation',
    'server_latency_p50_ms',
    'server_latency_p99_ms',
    'latency_over_raw_p50_ms',
    'latency_over_raw_p99_ms',
    'first_frame_p50_ms',
    'first_frame_p95_ms',
    'join_first_rtp_p50_ms',
    'join_first_rtp_p95_ms',
    'rss_mb_per_participant',
    'forwarding_alloc_bytes_per_packet',
    'idle_rss_mb',
    'idle_rss_first_start_mb',
    'loss',
    'signalling_join_events_per_core',
    'signalling_join_p50_ms',
    'signalling_join_p99_ms',
    'signalling_chat_messages_per_core',
    'signalling_chat_deliveries_per_core',
    'signalling_chat_p50_ms',
    'signalling_chat_p99_ms',
    'rest_token_rps_per_core',
    'rest_token_p50_ms',
    'rest_token_p99_ms',
    'rest_join_rps_per_core',
    'rest_join_p50_ms',
    'rest_join_p99_ms',
    'bare_fastify_rps_per_core',
    'rest_token_ratio_vs_bare',
    'rest_join_ratio_vs_bare',
    ...ROOMS_FIGURE_KEYS,
    'multicore_scaling_one_room',
    'multicore_scaling_many_rooms',
    'multicore_efficiency_one_room',
    'multicore_efficiency_many_rooms',
    'multicore_relay_extra_us_per_packet',
    'multicore_relay_extra_noise_us',
    'multicore_relay_extra_note',
    'multicore_relay_us_per_relayed_packet',
  ] as const;
  const section = [
    `### Last run (${new Date().toISOString().slice(0, 16)}Z, ${summary.quick ? '--quick' : 'full'})`,
    '',
    machineLines(summary.machine),
    `- Replayed video: ${summary.replayed_video}; load: ${summary.load_pacing}; media workers at nice ${summary.media_worker_nice ?? '–'}; headline step: ${summary.headline_step}; latency from ${summary.latency_step}`,
    '',
    '| figure | value |',
    '|---|---:|',
    ...keys.map((k) => `| \`${k}\` | ${summary[k] ?? '–'} |`),
    '',
    stepsTable(results),
    '',
    ...(summary.rooms ? [`Big rooms: ${summary.rooms}`, ''] : []),
    ...(profiled ? [`CPU profile of ${profiled.pass}.`, '', costsTable(profiled.costs), ''] : []),
    ...(multicoreSteps.length > 0 ? [multicoreTable(multicoreSteps), ''] : []),
    Object.keys(summary.skipped).length
      ? `Skipped: ${Object.entries(summary.skipped)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`
      : '',
  ].join('\n');
  const file = path.join(ROOT, 'BENCHMARKS.md');
  await writeSection(file, 'results', section);
  if (!summary.quick) await writeSection(file, 'goals', goalsTable(summary));
}
