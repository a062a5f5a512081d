// The `rooms` scenario: the big rooms of a real deployment, each swept upward in size until the
// server leaves its capacity (bench/rooms-capacity.ts) or the load generator becomes the limit.
// - webinar: one publisher of the replayed 720p 3-layer VP8 simulcast, N subscribers that ask for
//   the lowest layer (q) over their `track_quality` data channel, as a Waterbus client does;
// - audio room: --speakers speakers (Opus-sized 20 ms frames), N listeners receiving them all (the
//   `audio` scenario's shape);
// - meeting: N participants each publishing video + audio and receiving all others (the `meeting`
//   scenario's shape), asking for the medium layer (h): a grid of N tiles shows no 720p, and the
//   original Waterbus server never forwards above h.
import os from 'node:os';
import {
  capacityOf,
  continueSweep,
  extrapolateCapacity,
  judgeStep,
  loadCoresNeeded,
  type Verdict,
} from './rooms-capacity.ts';
import { round } from './stats.ts';
import type { StepOptions, StepResult } from './step-types.ts';
import { runStep } from './steps.ts';

export type RoomShape = 'webinar' | 'audio_room' | 'meeting';

export interface RoomSweep {
  shape: RoomShape;
  sizes: number[];
}

/** What each shape's size counts, and its step options. */
const SHAPES: Record<RoomShape, { noun: string; scenario: StepOptions['scenario']; layer?: 'q' | 'h' }> = {
  webinar: { noun: 'subscribers', scenario: 'webinar', layer: 'q' },
  audio_room: { noun: 'listeners', scenario: 'audio' },
  meeting: { noun: 'participants', scenario: 'meeting', layer: 'h' },
};

/** Subscriptions per load process: the subscribers are spread over up to MAX_LOAD_PROCESSES. */
const SUBSCRIPTIONS_PER_PROCESS = 250;
const MAX_LOAD_PROCESSES = 4;

function subscriptionsOf(shape: RoomShape, size: number, speakers: number): number {
  if (shape === 'webinar') return size;
  if (shape === 'audio_room') return size * speakers;
  return size * (size - 1);
}

/** The largest size whose subscriptions fit in `subscriptions` (null stays null). */
export function sizeForSubscriptions(
  shape: RoomShape,
  subscriptions: number | null,
  speakers: number,
): number | null {
  if (subscriptions === null) return null;
  if (shape === 'webinar') return subscriptions;
  if (shape === 'audio_room') return Math.floor(subscriptions / Math.max(1, speakers));
  return Math.floor((1 + Math.sqrt(1 + 4 * subscriptions)) / 2);
}

const speakersOf = (steps: StepResult[]) => {
  const s = steps.at(-1);
  return s && s.size > 0 ? Math.round(s.subscriptions / s.size) : 1;
};

/** The cores a taskset list names ('1', '2-3', '0,2'); all of them when unpinned (''). */
export function countCores(list: string): number {
  if (!list) return os.availableParallelism();
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

export interface RoomsContext {
  speakers: number;
  warmupSeconds: number;
  seconds: number;
  serverCores: string;
  loadCores: string;
  framesFile: string | undefined;
  /** Publishers send unpaced, in lockstep (--unpaced; StepOptions.unpaced). */
  unpaced?: boolean | undefined;
  /** k: index of the sweep step overall (0-based), as bench.ts counts its steps. */
  progress: (k: number, fraction: number, what: string) => void;
}

export interface RoomsOutcome {
  results: StepResult[];
  summary: RoomsSummary;
  skipped: Record<string, string>;
}

export type RoomsSummary = ReturnType<typeof emptyRoomsSummary>;

/** The figures of a sweep step the summary keeps beside its verdict. */
export interface StepFigures {
  subscriptions: number;
  out_pps: number;
  server_forwarded_pps: number | null;
  kbps_per_subscription: number | null;
  layer_requests: number;
  cpu_cores: number;
  load_cpu_cores: number;
  other_cpu_cores: number | null;
  latency_p99_ms: number | null;
  server_latency_p99_ms: number | null;
  join_seconds: number;
  join_failures: number;
}

function figuresOf(r: StepResult): StepFigures {
  return {
    subscriptions: r.subscriptions,
    out_pps: Math.round(r.out_pps),
    server_forwarded_pps: r.server_forwarded_pps === null ? null : Math.round(r.server_forwarded_pps),
    kbps_per_subscription: r.subscriptions > 0 ? round((r.out_mbps * 1000) / r.subscriptions, 1) : null,
    layer_requests: r.layer_requests,
    cpu_cores: round(r.cpu_cores, 3)!,
    load_cpu_cores: round(r.load_cpu_cores, 3)!,
    other_cpu_cores: round(r.other_cpu_cores, 3),
    latency_p99_ms: round(r.latency_p99_ms, 2),
    server_latency_p99_ms: round(r.server_latency_p99_ms, 2),
    join_seconds: round(r.join_seconds, 1)!,
    join_failures: r.join_failures,
  };
}

/** The summary keys of the rooms scenario, all null (not run). */
export function emptyRoomsSummary() {
  return {
    webinar_capacity_subs: null as number | null,
    webinar_loss: null as number | null,
    webinar_cpu_millicores_per_sub: null as number | null,
    webinar_capacity_extrapolated: null as number | null,
    audio_room_capacity_listeners: null as number | null,
    audio_room_loss: null as number | null,
    audio_room_capacity_extrapolated: null as number | null,
    meeting_capacity_participants: null as number | null,
    meeting_loss: null as number | null,
    meeting_capacity_extrapolated: null as number | null,
    /** One line per shape: where its sweep stopped and why. */
    rooms: null as string | null,
    rooms_steps: [] as Array<Verdict & StepFigures & { shape: RoomShape }>,
  };
}

/** Runs every sweep in turn; a sweep stops at the first size beyond capacity. */
export async function runRooms(sweeps: RoomSweep[], ctx: RoomsContext): Promise<RoomsOutcome> {
  const results: StepResult[] = [];
  const summary = emptyRoomsSummary();
  const skipped: Record<string, string> = {};
  const notes: string[] = [];
  const loadCores = countCores(ctx.loadCores);
  let k = 0;
  for (const sweep of sweeps) {
    const shape = SHAPES[sweep.shape];
    const verdicts: Verdict[] = [];
    const steps: StepResult[] = [];
    for (const size of sweep.sizes) {
      if (!continueSweep(verdicts)) break;
      const subscriptions = subscriptionsOf(sweep.shape, size, ctx.speakers);
      const step = k;
      const result = await runStep({
        system: 'bbmeet',
        scenario: shape.scenario,
        size,
        fanout: 0,
        speakers: ctx.speakers,
        layer: shape.layer,
        loadProcesses: Math.min(MAX_LOAD_PROCESSES, Math.ceil(subscriptions / SUBSCRIPTIONS_PER_PROCESS)),
        warmupSeconds: ctx.warmupSeconds,
        seconds: ctx.seconds,
        sampleEvery: 8,
        serverCores: ctx.serverCores,
        loadCores: ctx.loadCores,
        framesFile: ctx.framesFile,
        unpaced: ctx.unpaced,
        progress: (f, what) => ctx.progress(step, f, `${sweep.shape}: ${what}`),
      });
      k++;
      const verdict = judgeStep(result, loadCores);
      verdicts.push(verdict);
      steps.push(result);
      results.push(result);
      summary.rooms_steps.push({
        shape: sweep.shape,
        ...verdict,
        serverLoss: round(verdict.serverLoss, 5)!,
        receiverLoss: round(verdict.receiverLoss, 5),
        ...figuresOf(result),
      });
      process.stderr.write(
        `\n${sweep.shape} ${size} ${shape.noun}: ${verdict.outcome}${verdict.loadBusy ? ' (load busy)' : ''}` +
          `${verdict.reasons.length ? `: ${verdict.reasons.join('; ')}` : ''}\n`,
      );
      if (shape.layer && result.layer_requests < result.subscriptions)
        process.stderr.write(
          `${sweep.shape} ${size}: ${result.subscriptions - result.layer_requests} subscriptions could not ask for layer ${shape.layer}\n`,
        );
    }
    k += sweep.sizes.length - steps.length;
    const note = describeSweep(sweep, verdicts, steps, loadCores, summary);
    notes.push(note.line);
    if (note.skipped) skipped[`rooms_${sweep.shape}`] = note.skipped;
  }
  summary.rooms = notes.join(' | ');
  return { results, summary, skipped };
}

/** Fills the shape's summary keys; the note says where the sweep stopped and why. */
function describeSweep(
  sweep: RoomSweep,
  verdicts: Verdict[],
  steps: StepResult[],
  loadCores: number,
  summary: RoomsSummary,
): { line: string; skipped?: string } {
  const { noun } = SHAPES[sweep.shape];
  const cap = capacityOf(verdicts);
  const atStep = steps.find((s) => s.size === cap.at?.size);
  const loss = cap.at ? round(cap.at.serverLoss, 5) : null;
  if (sweep.shape === 'webinar') {
    summary.webinar_capacity_subs = cap.capacity;
    summary.webinar_loss = loss;
    summary.webinar_cpu_millicores_per_sub =
      atStep && atStep.size > 0 ? round((atStep.cpu_cores * 1000) / atStep.size, 3) : null;
  } else if (sweep.shape === 'audio_room') {
    summary.audio_room_capacity_listeners = cap.capacity;
    summary.audio_room_loss = loss;
  } else {
    summary.meeting_capacity_participants = cap.capacity;
    summary.meeting_loss = loss;
  }
  const measured = cap.capacity === null ? `no size within capacity` : `capacity ${cap.capacity} ${noun}`;
  if (cap.stoppedBy === 'server') {
    const limit = `the server's limit at ${cap.stop!.size} (${cap.stop!.reasons.join('; ')})`;
    return {
      line: `${sweep.shape}: ${measured}; ${limit}`,
      // No capacity at all: say below which size, and why, where the capacity would be.
      ...(cap.capacity === null ? { skipped: `below ${cap.stop!.size} ${noun}: ${limit}` } : {}),
    };
  }
  if (cap.stoppedBy === 'sizes')
    return { line: `${sweep.shape}: ${measured}; every size (up to ${sweep.sizes.at(-1)}) within capacity` };
  // The load generator stopped the sweep: extrapolate the server's limit from its CPU, labelled.
  const stopStep = steps.find((s) => s.size === cap.stop!.size)!;
  const serverPoints = steps
    .filter((s) => verdicts.find((v) => v.size === s.size)?.outcome !== 'server')
    // Subscriptions that received: a failed join costs the server little.
    .map((s) => ({ size: s.subscriptions_with_media, cpu_cores: s.cpu_cores }));
  // In subscriptions (the meeting's grow as N × (N - 1)), then back to the shape's size.
  const extrapolated = sizeForSubscriptions(
    sweep.shape,
    extrapolateCapacity(serverPoints),
    speakersOf(steps),
  );
  const key = `${sweep.shape}_capacity_extrapolated` as const;
  summary[key] = extrapolated;
  const target = sweep.sizes.at(-1)!;
  const needed = loadCoresNeeded(stopStep, target);
  const skipped =
    `load generator (or the machine it shares with the server) bound at ${cap.stop!.size} ${noun} (${cap.stop!.reasons.join('; ')}): ` +
    `${target} ${noun} would need about ${needed ?? '?'} load cores (${loadCores} here)` +
    `; extrapolated from the server's CPU per ${noun.replace(/s$/, '')}: ${extrapolated ?? '–'} (${key}, not measured)`;
  return { line: `${sweep.shape}: ${measured}; ${skipped}`, skipped };
}
