// `npm run bench` / `bbmeet bench`: starts the server, drives load with protocol-level peers
// (real ICE/DTLS/SRTP, replayed VP8 simulcast and Opus), measures, and reports: a progress bar on
// stderr, a one-line JSON summary on stdout, and with --write-md the tables in BENCHMARKS.md and
// the chart docs/bench-forwarding.svg. `--help` lists the scenarios and options.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Chromium, chromiumAvailable, encodeLayers, startChromium } from './chromium.ts';
import { fixtureExists, MEDIA_FIXTURE, writeLayersFile } from './encoded-media.ts';
import { describeFirstFrameSteps, type FirstFrameSteps, timeFirstFrames } from './first-frame.ts';
import { corePlan } from './processes.ts';
import { topCosts } from './profile.ts';
import {
  costsTable,
  describeMachine,
  forwardingSvg,
  goalsTable,
  machineLines,
  stepsTable,
  writeSection,
} from './report.ts';
import { runSoak } from './soak.ts';
import { percentile, round } from './stats.ts';
import { runStep, type Scenario, type StepOptions, type StepResult } from './steps.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export const HELP = `bbmeet bench: load and benchmark tool of the media server.

Starts the server (bbmeet start, one media worker, on loopback) as a child process, drives load
from protocol-level peers in other processes (real ICE, DTLS and SRTP; pre-built VP8 720p 3-layer
simulcast and Opus replayed at real rates, send timestamps in the payload), reads the server's CPU
from the OS accounting (/proc), and reports. Server and load are pinned to different cores with
taskset when it is present.

Scenarios:
  fanout    one publisher to N subscribers per room (--fanout per room, default 16), swept over
            --subs total subscribers; also run on the two baselines: a raw dgram fan-out (no
            crypto) and a forwarder built on werift RTCPeerConnections; and once more on
            BBMEET with every load peer on ICE-TCP (RFC 6544, RFC 4571 framing) at the headline
            size (system bbmeet_tcp; ice_tcp_* in the summary)
  meeting   an N x N meeting: every participant publishes video+audio and receives all others
  audio     a large audio room: --speakers speakers (default 10), N listeners receiving them all
  all       all three (default)
  egress    CPU per copied HLS stream (H264), per transcoded one (VP8 by ffmpeg) and per forwarded
            subscriber, on a server with egress on (needs npm run setup:egress; --scenario egress
            --help lists its options)
  soak      \`bbmeet bench soak --help\`: a bounded soak (30 min at 70 % of the measured capacity,
            participants joining and leaving all the time; RSS, event-loop delay, loss, leaks)

Options:
  --quick               small sizes and short steps (under a minute; what CI runs)
  --scenario <name>     fanout | meeting | audio | all
  --subs <list>         sizes to sweep, comma-separated (fanout: subscribers, meeting:
                        participants, audio: listeners); default per scenario
  --fanout <n>          subscribers per publisher in the fanout scenario (0: one publisher to all)
  --speakers <n>        speakers of the audio room (default 10)
  --duration <s>        measured seconds per step (default 10, quick 3)
  --warmup <s>          seconds of load before measuring (default 3, quick 1)
  --chromium-viewers <n>  Chromium viewers timing first RTP / first decoded frame (default 3, quick 1)
  --werift-subs <n>     subscribers of the werift baseline (default 32, quick 8)
  --no-chromium         no Chromium (synthetic frames; first_frame_* are null)
  --no-werift           skip the werift baseline
  --no-raw              skip the raw UDP baseline
  --no-tcp              skip the ICE-TCP fanout step (bbmeet_tcp)
  --profile             profile the server (--cpu-prof) in the largest fanout step; top costs reported
  --out <file>          also write the JSON summary (pretty) to this file
  --encode-media        encode the replayed VP8 again with Chromium into bench/fixtures
  --write-md            update the results section of BENCHMARKS.md and docs/bench-forwarding.svg
  -h, --help            this help

Output: the JSON summary on ONE line on stdout; progress and notes on stderr.`;

interface Options {
  quick: boolean;
  scenarios: Scenario[];
  fanoutSizes: number[];
  meetingSizes: number[];
  audioSizes: number[];
  fanout: number;
  speakers: number;
  duration: number;
  warmup: number;
  viewers: number;
  weriftSubs: number;
  chromium: boolean;
  werift: boolean;
  raw: boolean;
  tcp: boolean;
  profile: boolean;
  out: string | undefined;
  writeMd: boolean;
  encodeMedia: boolean;
}

function numbers(list: string | undefined): number[] | undefined {
  if (list === undefined) return undefined;
  const out = list.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1))
    throw new TypeError(`--subs wants positive integers separated by commas, got '${list}'`);
  return out;
}

function positive(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new TypeError(`--${name} wants a number ≥ ${min}, got '${value}'`);
  return n;
}

export function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', default: 'all' },
      subs: { type: 'string' },
      fanout: { type: 'string' },
      speakers: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'chromium-viewers': { type: 'string' },
      'werift-subs': { type: 'string' },
      'no-chromium': { type: 'boolean', default: false },
      'no-werift': { type: 'boolean', default: false },
      'no-raw': { type: 'boolean', default: false },
      'no-tcp': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      'write-md': { type: 'boolean', default: false },
      'encode-media': { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const scenario = values.scenario!;
  const valid = ['fanout', 'meeting', 'audio', 'all'];
  if (!valid.includes(scenario))
    throw new TypeError(`--scenario is one of ${valid.join(', ')}, got '${scenario}'`);
  const scenarios: Scenario[] = scenario === 'all' ? ['fanout', 'meeting', 'audio'] : [scenario as Scenario];
  const subs = numbers(values.subs);
  const fanout = positive('fanout', values.fanout, 16, 0);
  return {
    quick,
    scenarios,
    fanoutSizes: (scenario === 'fanout' && subs) || (quick ? [16] : [16, 64, 128, 256]),
    meetingSizes: (scenario === 'meeting' && subs) || (quick ? [3] : [4, 8]),
    audioSizes: (scenario === 'audio' && subs) || (quick ? [2] : [10, 30]),
    fanout,
    speakers: positive('speakers', values.speakers, 10),
    duration: positive('duration', values.duration, quick ? 3 : 10),
    warmup: positive('warmup', values.warmup, quick ? 1 : 3, 0),
    viewers: positive('chromium-viewers', values['chromium-viewers'], quick ? 1 : 3, 0),
    weriftSubs: positive('werift-subs', values['werift-subs'], quick ? 8 : 32),
    chromium: !values['no-chromium'],
    werift: !values['no-werift'],
    raw: !values['no-raw'],
    tcp: !values['no-tcp'],
    profile: values.profile === true,
    out: values.out,
    writeMd: values['write-md'] === true,
    encodeMedia: values['encode-media'] === true,
  };
}

/** Progress on stderr: a redrawn bar on a terminal, one line per phase otherwise. */
function progressBar(totalSteps: number) {
  const tty = process.stderr.isTTY === true;
  const startedMs = performance.now();
  let lastWhat = '';
  return (step: number, fraction: number, what: string) => {
    const overall = Math.min(1, (step + fraction) / totalSteps);
    const pct = Math.round(overall * 100);
    if (tty) {
      const width = 30;
      const filled = Math.round(overall * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${what.padEnd(48).slice(0, 48)}`,
      );
      if (overall >= 1) process.stderr.write('\n');
    } else if (what !== lastWhat) {
      const elapsed = ((performance.now() - startedMs) / 1000).toFixed(1);
      process.stderr.write(`[${String(pct).padStart(3)}%] ${elapsed}s ${what}\n`);
    }
    lastWhat = what;
  };
}

/** A loopback origin serving /healthz, so Chromium has a secure context for WebCodecs. */
async function secureOrigin(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `--scenario x` or `--scenario=x`, if given. */
export function scenarioOf(argv: string[]): string | undefined {
  const i = argv.indexOf('--scenario');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--scenario='))?.slice('--scenario='.length);
}

export async function runBench(argv: string[]): Promise<number> {
  if (argv[0] === 'soak') return runSoak(argv.slice(1));
  // The egress scenario runs its own server (egress on) and options; packages/egress stays optional.
  if (scenarioOf(argv) === 'egress') return (await import('./egress.ts')).runEgressBench(argv);
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`bbmeet bench: ${(err as Error).message}\nSee --help.\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const o = options;
  const cores = corePlan();
  const machine = describeMachine(cores.description);
  const skipped: Record<string, string> = {};
  const work = await mkdtemp(path.join(os.tmpdir(), 'bbmeet-bench-'));
  let chromium: Chromium | undefined;
  const wantsFanout = o.scenarios.includes('fanout');
  const steps: Array<{ kind: string; options: Omit<StepOptions, 'progress' | 'serverCores' | 'loadCores'> }> =
    [];
  const base = {
    fanout: o.fanout,
    speakers: o.speakers,
    warmupSeconds: o.warmup,
    seconds: o.duration,
    sampleEvery: 8,
  };
  if (wantsFanout) {
    const largest = Math.max(...o.fanoutSizes);
    for (const size of o.fanoutSizes)
      steps.push({ kind: 'fanout', options: { ...base, system: 'bbmeet', scenario: 'fanout', size } });
    if (o.raw)
      for (const size of o.quick ? [largest] : o.fanoutSizes)
        steps.push({ kind: 'raw', options: { ...base, system: 'raw_udp', scenario: 'fanout', size } });
    if (o.werift)
      steps.push({
        kind: 'werift',
        options: { ...base, system: 'werift', scenario: 'fanout', size: Math.min(o.weriftSubs, largest) },
      });
    // Last of the fan-out steps: its size, the headline's, is known once the others ran (0 till then).
    if (o.tcp)
      steps.push({ kind: 'tcp', options: { ...base, system: 'bbmeet_tcp', scenario: 'fanout', size: 0 } });
  }
  if (o.scenarios.includes('meeting'))
    for (const size of o.meetingSizes)
      steps.push({ kind: 'meeting', options: { ...base, system: 'bbmeet', scenario: 'meeting', size } });
  if (o.scenarios.includes('audio'))
    for (const size of o.audioSizes)
      steps.push({ kind: 'audio', options: { ...base, system: 'bbmeet', scenario: 'audio', size } });
  const progress = progressBar(steps.length + 1);
  const results: StepResult[] = [];
  const viewerTimings: Array<{ firstRtpMs: number | null; firstFrameMs: number | null; frameWidth: number }> =
    [];
  let costs: Awaited<ReturnType<typeof topCosts>> | undefined;
  let firstFrameSteps: FirstFrameSteps | undefined;
  let framesFile: string | undefined;
  try {
    progress(0, 0, 'preparing media');
    if (!o.chromium) skipped.chromium = 'disabled by --no-chromium';
    else if (!chromiumAvailable().ok) skipped.chromium = chromiumAvailable().reason;
    else if (o.viewers > 0 || o.encodeMedia || !fixtureExists()) chromium = await startChromium();
    if (fixtureExists() && !o.encodeMedia) framesFile = MEDIA_FIXTURE;
    else if (chromium) {
      const origin = await secureOrigin();
      try {
        framesFile = o.encodeMedia ? MEDIA_FIXTURE : path.join(work, 'vp8-layers.bin');
        await mkdir(path.dirname(framesFile), { recursive: true });
        await writeLayersFile(framesFile, await encodeLayers(chromium, origin.url));
      } catch (err) {
        framesFile = undefined;
        skipped.encoded_media = `Chromium could not encode VP8: ${(err as Error).message}`;
      } finally {
        await origin.close();
      }
    }
    if (!framesFile)
      skipped.encoded_media ??= 'no Chromium: synthetic VP8 frames (valid headers, not decodable)';
    const largestFanout = Math.max(...o.fanoutSizes);
    for (const [i, step] of steps.entries()) {
      const isLargestFanout = step.kind === 'fanout' && step.options.size === largestFanout;
      const profileDir = o.profile && isLargestFanout ? path.join(work, 'profile') : undefined;
      if (profileDir) await mkdir(profileDir, { recursive: true });
      const during =
        isLargestFanout && chromium && o.viewers > 0
          ? async (server: {
              baseUrl: string;
              apiKey: string;
              roomId: string;
              code: string;
              publisherId: string;
            }) => {
              firstFrameSteps = await timeFirstFrames(chromium!, server, o.viewers, viewerTimings);
              process.stderr.write(`\n${describeFirstFrameSteps(firstFrameSteps)}\n`);
            }
          : undefined;
      const size = step.kind === 'tcp' ? (headlineStep(results)?.size ?? largestFanout) : step.options.size;
      const result = await runStep({
        ...step.options,
        size,
        serverCores: cores.serverCores,
        loadCores: cores.loadCores,
        profileDir,
        framesFile,
        during,
        progress: (f, what) => progress(i + 1, f, what),
      });
      results.push(result);
      if (profileDir) costs = await topCosts(profileDir).catch(() => undefined);
    }
  } finally {
    await chromium?.close();
  }
  const summary = {
    ...summarize(o, machine, results, viewerTimings, skipped, framesFile !== undefined, costs),
    first_frame_steps_p50_ms: firstFrameSteps ?? null,
  };
  await rm(work, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (o.out) await writeFile(o.out, `${JSON.stringify(summary, null, 2)}\n`);
  if (o.writeMd) await writeReport(o, summary, results, costs);
  return 0;
}

type Summary = ReturnType<typeof summarize>;

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
function headlineStep(results: StepResult[]): StepResult | undefined {
  const fanout = results.filter((r) => r.system === 'bbmeet' && r.scenario === 'fanout');
  const raw = results.filter((r) => r.system === 'raw_udp');
  const clean = fanout.filter((r) => serverLoss(r, raw) <= 0.01 && r.out_pps > 0);
  return (
    [...clean].sort((a, b) => b.out_pps_per_core - a.out_pps_per_core)[0] ??
    [...fanout].sort((a, b) => serverLoss(a, raw) - serverLoss(b, raw))[0]
  );
}

function summarize(
  o: Options,
  machine: ReturnType<typeof describeMachine>,
  results: StepResult[],
  viewers: Array<{ firstRtpMs: number | null; firstFrameMs: number | null; frameWidth: number }>,
  skipped: Record<string, string>,
  encodedMedia: boolean,
  costs: Awaited<ReturnType<typeof topCosts>> | undefined,
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
    loss: round(headline?.loss, 5),
    server_added_loss: headline ? round(serverLoss(headline, raw), 5) : null,
    packets_forwarded: round(
      results.reduce((s, r) => s + r.out_pps * r.seconds, 0),
      0,
    ),
    profile_top:
      costs?.top.slice(0, 8).map((c) => `${c.selfPercent.toFixed(1)}% ${c.function} ${c.where}`) ?? null,
    skipped,
    steps: results.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v, 3) : v])),
    ),
  };
}

async function writeReport(
  o: Options,
  summary: Summary,
  results: StepResult[],
  costs: Awaited<ReturnType<typeof topCosts>> | undefined,
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
    'latency_over_raw_p50_ms',
    'latency_over_raw_p99_ms',
    'first_frame_p50_ms',
    'first_frame_p95_ms',
    'join_first_rtp_p50_ms',
    'join_first_rtp_p95_ms',
    'rss_mb_per_participant',
    'loss',
  ] as const;
  const section = [
    `### Last run (${new Date().toISOString().slice(0, 16)}Z, ${summary.quick ? '--quick' : 'full'})`,
    '',
    machineLines(summary.machine),
    `- Replayed video: ${summary.replayed_video}; headline step: ${summary.headline_step}; latency from ${summary.latency_step}`,
    '',
    '| figure | value |',
    '|---|---:|',
    ...keys.map((k) => `| \`${k}\` | ${summary[k] ?? '–'} |`),
    '',
    stepsTable(results),
    '',
    ...(costs ? [costsTable(costs), ''] : []),
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

if (import.meta.main) {
  runBench(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`\nbbmeet bench: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
