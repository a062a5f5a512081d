// `--profile`: CPU profiles of the server (node --cpu-prof) taken in passes of their own, after
// every measured step, because the profiler weighs on what it profiles (it halved the signalling
// figures and took the join-cycle p99 from 0.28 s to 3.96 s). The measured steps run as without
// --profile; then the largest fan-out step runs once more with a shorter window, and the signalling
// scenario once more with short windows (without its bare fastify window), each on a server of its
// own under the profiler. Only their top costs are kept: no figure, goal or summary value comes
// from a profiled pass, and the summary says which pass each profile came from.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { MediaStep, SignallingRun } from './bench-plan.ts';
import type { Options } from './options.ts';
import { topCosts } from './profile.ts';
import { runSignalling } from './signalling-step.ts';
import { runStep } from './steps.ts';

/** The profiled fan-out pass's measuring window, s (at most --duration). */
export const PROFILE_FANOUT_SECONDS = 5;
/** The profiled signalling pass: each window's seconds and warm-up (at most --duration, --warmup). */
export const PROFILE_SIGNALLING_SECONDS = 2;
export const PROFILE_SIGNALLING_WARMUP_SECONDS = 0.5;

export type Costs = Awaited<ReturnType<typeof topCosts>>;

/** The top costs of a profiled pass, and which pass it was. */
export interface ProfiledPass {
  pass: string;
  costs: Costs;
}

export interface ProfilePlan {
  fanout?: { options: MediaStep['options']; pass: string };
  signalling?: { options: SignallingRun; pass: string };
}

const SEPARATE =
  'a separate pass after the measured steps, on a server of its own under node --cpu-prof (the profile spans its whole life: start, joins, warm-up and load); no figure comes from it';

/**
 * The profiled passes of a run: none without --profile; the largest BBMEET fan-out step again with
 * a window of at most PROFILE_FANOUT_SECONDS; the signalling scenario again when it is measured,
 * with short windows and no bare fastify window.
 */
export function profilePlan(o: Options, steps: MediaStep[], signalling?: SignallingRun): ProfilePlan {
  if (!o.profile) return {};
  const plan: ProfilePlan = {};
  const largest = steps.filter((s) => s.kind === 'fanout').sort((a, b) => b.options.size - a.options.size)[0];
  if (largest) {
    const options = {
      ...largest.options,
      seconds: Math.min(largest.options.seconds, PROFILE_FANOUT_SECONDS),
    };
    plan.fanout = {
      options,
      pass: `fanout ${options.size} subscribers (${options.fanout || options.size} per publisher), ${options.warmupSeconds} s warm-up and a ${options.seconds} s window: ${SEPARATE}`,
    };
  }
  if (signalling) {
    const options = {
      ...signalling,
      seconds: Math.min(signalling.seconds, PROFILE_SIGNALLING_SECONDS),
      warmupSeconds: Math.min(signalling.warmupSeconds, PROFILE_SIGNALLING_WARMUP_SECONDS),
      bareRoute: false,
    };
    plan.signalling = {
      options,
      pass: `the signalling scenario's four server windows (joins, chat, rest_token, rest_join), ${options.warmupSeconds} s warm-up and ${options.seconds} s each: ${SEPARATE}`,
    };
  }
  return plan;
}

/** How many progress steps the plan adds. */
export const profileStepCount = (plan: ProfilePlan): number =>
  (plan.fanout ? 1 : 0) + (plan.signalling ? 1 : 0);

/**
 * Runs the plan's passes one after the other and keeps only their top costs; a pass that fails is
 * said in `skipped` (profile, signalling_profile) and the run goes on.
 */
export async function runProfilePasses(
  plan: ProfilePlan,
  run: {
    work: string;
    framesFile: string | undefined;
    unpaced?: boolean | undefined;
    serverCores: string;
    loadCores: string;
    progress: (k: number, fraction: number, what: string) => void;
    skipped: Record<string, string>;
  },
): Promise<{ fanout?: ProfiledPass; signalling?: ProfiledPass }> {
  const out: { fanout?: ProfiledPass; signalling?: ProfiledPass } = {};
  let k = 0;
  if (plan.fanout) {
    const profileDir = path.join(run.work, 'profile-fanout');
    const index = k++;
    try {
      await mkdir(profileDir, { recursive: true });
      // Its figures are dropped on purpose: the profiler weighs on them.
      await runStep({
        ...plan.fanout.options,
        serverCores: run.serverCores,
        loadCores: run.loadCores,
        framesFile: run.framesFile,
        unpaced: run.unpaced,
        profileDir,
        progress: (f, what) => run.progress(index, f, `profiled pass, ${what}`),
      });
      out.fanout = { pass: plan.fanout.pass, costs: await topCosts(profileDir) };
    } catch (err) {
      run.skipped.profile = `the profiled fan-out pass failed: ${firstLine(err)}`;
    }
  }
  if (plan.signalling) {
    const profileDir = path.join(run.work, 'profile-signalling');
    const index = k++;
    try {
      await mkdir(profileDir, { recursive: true });
      const result = await runSignalling({
        ...plan.signalling.options,
        profileDir,
        progress: (f, what) => run.progress(index, f, `profiled pass, ${what}`),
      });
      if (!result.costs) throw new Error('no profile was written');
      out.signalling = { pass: plan.signalling.pass, costs: result.costs };
    } catch (err) {
      run.skipped.signalling_profile = `the profiled signalling pass failed: ${firstLine(err)}`;
    }
  }
  return out;
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

/** `12.3% fn where` lines of the top costs. */
const topLines = (p: ProfiledPass | undefined, rows = 8) =>
  p?.costs.top.slice(0, rows).map((c) => `${c.selfPercent.toFixed(1)}% ${c.function} ${c.where}`) ?? null;

/** The summary's profile keys: the top costs, and the pass each came from (null without --profile). */
export function profileFigures(passes: { fanout?: ProfiledPass; signalling?: ProfiledPass }) {
  return {
    profile_top: topLines(passes.fanout),
    profile_pass: passes.fanout?.pass ?? null,
    signalling_profile_top: topLines(passes.signalling),
    signalling_profile_pass: passes.signalling?.pass ?? null,
  };
}
