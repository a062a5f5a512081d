// `npm run bench` / `bbmeet bench`: starts the server, drives load with protocol-level peers
// (real ICE/DTLS/SRTP, replayed VP8 simulcast and Opus), measures, and reports: a progress bar on
// stderr, a one-line JSON summary on stdout, and with --write-md the tables in BENCHMARKS.md and
// the chart docs/bench-forwarding.svg. `--help` lists the scenarios and options.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mediaSteps, type SignallingRun, signallingRun } from './bench-plan.ts';
import { type Chromium, chromiumAvailable, encodeLayers, startChromium } from './chromium.ts';
import { fixtureExists, MEDIA_FIXTURE, writeLayersFile } from './encoded-media.ts';
import {
  describeFirstFrameSteps,
  type FirstFrameSteps,
  halfLoadStep,
  timeFirstFrames,
} from './first-frame.ts';
import { forwardingAllocations } from './forwarding-allocations.ts';
import { type IdleMemory, measureIdleMemory } from './idle-memory.ts';
import { removeOnStop, stopChildrenOnSignal, stoppingFor } from './interrupt.ts';
import { type MulticoreFigures, multicoreStepCount, runMulticore } from './multicore.ts';
import { multicorePlan } from './multicore-plan.ts';
import { HELP, type Options, parseOptions } from './options.ts';
import { corePlan, tasksetAvailable } from './processes.ts';
import { profileFigures, profilePlan, profileStepCount, runProfilePasses } from './profile-pass.ts';
import { describeMachine } from './report.ts';
import { type RoomSweep, type RoomsOutcome, runRooms } from './rooms.ts';
import { writeRoomsSection } from './rooms-report.ts';
import { signallingFigures } from './signalling-figures.ts';
import { runSignalling, type SignallingResult } from './signalling-step.ts';
import { runSoak } from './soak.ts';
import type { StepResult } from './step-types.ts';
import { runStep } from './steps.ts';
import { headlineStep, roundStep, summarize, writeReport } from './summary.ts';

export { HELP, parseOptions };

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

/**
 * `forwarding_alloc_bytes_per_packet`: young-generation bytes per forwarded packet over an
 * in-process run of the forwarding path (forwarding-allocations.ts, a child process), on the
 * native path when the addon is built, else on the JavaScript one (`forwarding_alloc_path` says).
 */
function allocationFigures(skipped: Record<string, string>) {
  try {
    const r = forwardingAllocations();
    const run = r.native ?? r.js;
    return {
      forwarding_alloc_bytes_per_packet: run?.bytes_per_forwarded_packet ?? null,
      forwarding_alloc_path: run?.path ?? null,
      forwarding_alloc_gcs: run?.gcs ?? null,
    };
  } catch (err) {
    skipped.forwarding_alloc = `the allocation run failed: ${(err as Error).message.split('\n')[0]}`;
    return {
      forwarding_alloc_bytes_per_packet: null,
      forwarding_alloc_path: null,
      forwarding_alloc_gcs: null,
    };
  }
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
  const workKept = removeOnStop(work);
  let chromium: Chromium | undefined;
  const wantsFanout = o.scenarios.includes('fanout');
  // The measured steps; with --profile, profiled repeats of some run after all of them.
  const steps = mediaSteps(o);
  const viewersStep = wantsFanout && o.chromium && o.viewers > 0 ? 1 : 0;
  const wantsSignalling = o.scenarios.includes('signalling');
  const signallingSettings = wantsSignalling ? signallingRun(o, cores) : undefined;
  const profiling = profilePlan(o, steps, signallingSettings);
  let signalling: SignallingResult | undefined;
  const sweeps: RoomSweep[] = o.scenarios.includes('rooms')
    ? [
        { shape: 'webinar', sizes: o.webinarSizes },
        { shape: 'audio_room', sizes: o.audioRoomSizes },
        { shape: 'meeting', sizes: o.meetingRoomSizes },
      ]
    : [];
  const roomSteps = sweeps.reduce((n, s) => n + s.sizes.length, 0);
  let rooms: RoomsOutcome | undefined;
  const startedMs = performance.now();
  const multicore = o.scenarios.includes('multicore')
    ? {
        plan: multicorePlan(os.availableParallelism(), tasksetAvailable),
        subs: o.multicoreSubs,
        maxSubs: o.multicoreMaxSubs,
        rounds: o.multicoreRounds,
      }
    : undefined;
  const multicoreSubs = (m: NonNullable<typeof multicore>) =>
    m.subs ?? (m.plan.mode === 'scaling' ? 64 : 128);
  const multicoreSteps = multicore ? multicoreStepCount({ ...multicore, subs: multicoreSubs(multicore) }) : 0;
  // The last step: the idle server with one media worker per core (idle_rss_mb).
  const idleStep = steps.length + 1 + viewersStep + roomSteps + multicoreSteps + (wantsSignalling ? 1 : 0);
  const progress = progressBar(idleStep + 1 + profileStepCount(profiling));
  let multicoreRun: Awaited<ReturnType<typeof runMulticore>> | undefined;
  const results: StepResult[] = [];
  const viewerTimings: Array<{ firstRtpMs: number | null; firstFrameMs: number | null; frameWidth: number }> =
    [];
  let firstFrameSteps: FirstFrameSteps | undefined;
  let firstFrameStep: string | undefined;
  let framesFile: string | undefined;
  try {
    progress(0, 0, 'preparing media');
    if (!o.chromium) skipped.chromium = 'disabled by --no-chromium';
    else if (steps.length === 0) skipped.chromium = 'no media step was run';
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
      const size = step.kind === 'tcp' ? (headlineStep(results)?.size ?? largestFanout) : step.options.size;
      const result = await runStep({
        ...step.options,
        size,
        serverCores: cores.serverCores,
        loadCores: cores.loadCores,
        framesFile,
        unpaced: o.unpaced,
        progress: (f, what) => progress(i + 1, f, what),
      });
      results.push(result);
    }
    // The Chromium viewers time their first frame in a repeat of the half-load fan-out step.
    const half = chromium && viewersStep ? halfLoadStep(results) : undefined;
    const again = half && steps.find((s) => s.kind === 'fanout' && s.options.size === half.size);
    if (chromium && half && again) {
      firstFrameStep = `fanout ${half.size} (${Math.round(half.out_pps)} pps, server at ${half.cpu_cores.toFixed(2)} cores)`;
      await runStep({
        ...again.options,
        serverCores: cores.serverCores,
        loadCores: cores.loadCores,
        framesFile,
        unpaced: o.unpaced,
        during: async (server) => {
          firstFrameSteps = await timeFirstFrames(chromium!, server, o.viewers, viewerTimings);
          process.stderr.write(`\n${describeFirstFrameSteps(firstFrameSteps)}\n`);
        },
        progress: (f, what) => progress(steps.length + 1, f, `first frame, ${what}`),
      });
    }
    if (sweeps.length)
      rooms = await runRooms(sweeps, {
        speakers: o.speakers,
        warmupSeconds: o.warmup,
        seconds: o.duration,
        serverCores: cores.serverCores,
        loadCores: cores.loadCores,
        framesFile,
        unpaced: o.unpaced,
        progress: (k, f, what) => progress(steps.length + 1 + viewersStep + k, f, what),
      });
    if (multicore) {
      if (multicore.plan.mode === 'efficiency') skipped.multicore = multicore.plan.reason;
      multicoreRun = await runMulticore({
        ...multicore,
        subs: multicoreSubs(multicore),
        warmupSeconds: o.warmup,
        seconds: o.duration,
        framesFile,
        unpaced: o.unpaced,
        progress: (done, f, what) => progress(steps.length + 1 + viewersStep + roomSteps + done, f, what),
      });
    }
    if (signallingSettings)
      signalling = await signallingStep(
        signallingSettings,
        steps.length + 1 + viewersStep + roomSteps + multicoreSteps,
        progress,
        skipped,
      );
    else skipped.signalling = 'the signalling scenario was not run';
  } finally {
    await chromium?.close();
  }
  Object.assign(skipped, rooms?.skipped);
  if (!multicore) skipped.multicore = 'the multicore scenario was not run';
  progress(idleStep, 0, 'counting allocations of the forwarding path');
  const allocations = allocationFigures(skipped);
  let idle: IdleMemory | undefined;
  try {
    progress(idleStep, 0, 'idle memory');
    idle = await measureIdleMemory({ runs: o.quick ? 2 : 4, settleMs: 3000 });
    progress(idleStep, 1, 'idle memory: done');
  } catch (err) {
    skipped.idle_memory = `bbmeet start could not be measured idle: ${(err as Error).message}`;
  }
  // After every measured step: the profiled passes, whose only output is their top costs.
  const profiled = await runProfilePasses(profiling, {
    work,
    framesFile,
    unpaced: o.unpaced,
    serverCores: cores.serverCores,
    loadCores: cores.loadCores,
    progress: (k, f, what) => progress(idleStep + 1 + k, f, what),
    skipped,
  });
  progress(idleStep + 1 + profileStepCount(profiling), 0, 'done');
  const summary = {
    ...summarize(o, machine, results, viewerTimings, skipped, framesFile !== undefined, rooms?.summary, idle),
    ...allocations,
    first_frame_steps_p50_ms: firstFrameSteps ?? null,
    first_frame_step: firstFrameStep ?? null,
    ...signallingFigures(signalling?.phases),
    ...profileFigures(profiled),
    ...(multicoreRun?.figures ?? noMulticore),
    multicore_steps: (multicoreRun?.steps ?? []).map(roundStep),
  };
  await rm(work, { recursive: true, force: true });
  workKept();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (o.out) await writeFile(o.out, `${JSON.stringify(summary, null, 2)}\n`);
  // A rooms-only run leaves the other sections as they are.
  if (o.writeMd && results.length)
    await writeReport(
      o,
      summary,
      [...results, ...(rooms?.results ?? [])],
      profiled.fanout,
      multicoreRun?.steps ?? [],
    );
  if (o.writeMd && rooms)
    await writeRoomsSection(rooms.summary, machine, (performance.now() - startedMs) / 1000);
  return 0;
}

/** The measured signalling scenario (bench/signalling-step.ts); a failure is reported in `skipped`. */
async function signallingStep(
  settings: SignallingRun,
  index: number,
  progress: (step: number, fraction: number, what: string) => void,
  skipped: Record<string, string>,
): Promise<SignallingResult | undefined> {
  try {
    return await runSignalling({ ...settings, progress: (f, what) => progress(index, f, what) });
  } catch (err) {
    skipped.signalling = `failed: ${(err as Error).message}`;
    process.stderr.write(`\nsignalling scenario failed: ${(err as Error).stack}\n`);
    return undefined;
  }
}

/** The multicore figures of a run without that scenario. */
const noMulticore: Omit<MulticoreFigures, 'multicore'> & { multicore: null } = {
  multicore_scaling_one_room: null,
  multicore_scaling_many_rooms: null,
  multicore_efficiency_one_room: null,
  multicore_efficiency_many_rooms: null,
  multicore_relay_extra_us_per_packet: null,
  multicore_relay_extra_noise_us: null,
  multicore_relay_extra_note: null,
  multicore_relay_us_per_relayed_packet: null,
  multicore: null,
};

if (import.meta.main) {
  // SIGTERM / SIGINT: every process the bench started is stopped, and it exits non-zero.
  stopChildrenOnSignal('bbmeet bench');
  runBench(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // Stopping for a signal: what failed is the stopped children; interrupt.ts says so and exits.
      if (stoppingFor()) return;
      process.stderr.write(`\nbbmeet bench: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
