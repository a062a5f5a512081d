// The multicore scenario: the same load on the server with one media worker and with two, for one
// big room (one publisher, its subscribers spread over both workers, packets relayed between
// them) and for many small rooms (1 → 8 each). With ≥ 4 cores and taskset, each configuration is
// raised until it saturates (loss > 1 % or its cores full; one worker on one core, two on two)
// and the scaling is packets/s at saturation with 2 workers ÷ with 1. On a smaller machine that
// cannot be told apart from the load generators' own limit, so the scenario says so
// (skipped.multicore) and measures what it can: packets/s delivered per server core with 2
// workers ÷ with 1 at the same load, in alternating rounds (A B, B A, ...), medians. Each two-worker step reads
// the server's /metrics for every worker's share and for the relays between them.

import {
  ladderSizes,
  type MulticorePlan,
  median,
  ratio,
  saturation,
  saturationPps,
} from './multicore-plan.ts';
import { round } from './stats.ts';
import type { StepOptions, StepResult } from './step-types.ts';
import { runStep } from './steps.ts';
import type { WorkerShare } from './worker-metrics.ts';

export type Shape = 'one_room' | 'many_rooms';
const SHAPES: Shape[] = ['one_room', 'many_rooms'];
/** Subscribers per room of the many-rooms shape. */
export const SMALL_ROOM_SUBSCRIBERS = 8;

export interface MulticoreOptions {
  plan: MulticorePlan;
  /** Efficiency: subscribers in all at the equal load; scaling: the ladder's first size. */
  subs: number;
  /** Scaling: the ladder's largest size. */
  maxSubs: number;
  /** Efficiency: rounds of each configuration (alternating order). */
  rounds: number;
  warmupSeconds: number;
  seconds: number;
  framesFile: string | undefined;
  /** Publishers send unpaced, in lockstep (--unpaced; StepOptions.unpaced). */
  unpaced?: boolean | undefined;
  /** Called with (steps done, fraction of the current one, what it does). */
  progress: (done: number, fraction: number, what: string) => void;
}

export interface MulticoreStep extends StepResult {
  shape: Shape;
  round: number;
  server_cores_given: string;
}

/** Steps the scenario may run (for the progress bar; a ladder may stop before its end). */
export function multicoreStepCount(
  o: Pick<MulticoreOptions, 'plan' | 'subs' | 'maxSubs' | 'rounds'>,
): number {
  if (o.plan.mode === 'efficiency') return o.rounds * 4;
  return ladderSizes(o.subs, o.maxSubs).length * 4;
}

/** Cores the server was pinned to (unpinned: it could use them all, so only loss saturates it). */
const givenCores = (s: MulticoreStep) => coreCount(s.server_cores_given) || Number.POSITIVE_INFINITY;

export function coreCount(cores: string): number {
  if (cores === '') return 0;
  return cores.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a! + 1);
  }, 0);
}

/** The two-worker steps' evidence that the load spread: every worker forwarded, relays (one room). */
function spread(steps: MulticoreStep[], shape: Shape) {
  const two = steps.filter((s) => s.shape === shape && s.media_workers === 2 && s.workers);
  const everyWorkerForwards = two.every(
    (s) => s.workers!.length === 2 && s.workers!.every((w) => w.forwarded_pps > 0 && w.subscriptions > 0),
  );
  const last = two.at(-1);
  const relayed = median(two.map((s) => s.workers!.reduce((sum, w) => sum + w.relayed_sent_pps, 0)));
  return {
    every_worker_carries_subscribers: two.length > 0 && everyWorkerForwards,
    /** Packets/s handed between the workers (median of the two-worker steps). */
    relayed_pps: round(relayed, 0),
    relays: last?.relays ?? null,
    remote_tracks: last?.remote_tracks ?? null,
    workers: last?.workers?.map((w: WorkerShare) => ({
      worker: w.worker,
      subscriptions: w.subscriptions,
      forwarded_pps: Math.round(w.forwarded_pps),
      cpu_cores: round(w.cpu_cores, 3),
    })),
  };
}

/** Packets the subscribers received per second per server core (a lost packet cost no sending). */
const deliveredPerCore = (s: StepResult) => (s.cpu_cores > 0 ? s.delivered_pps / s.cpu_cores : Number.NaN);
/** µs of server CPU per delivered packet. */
const usPerPacket = (s: StepResult) =>
  s.delivered_pps > 0 ? (s.cpu_cores / s.delivered_pps) * 1e6 : Number.NaN;

const range = (xs: number[]) => {
  const finite = xs.filter(Number.isFinite);
  return finite.length > 0 ? Math.max(...finite) - Math.min(...finite) : null;
};

/** Medians of packets/s per core used of each configuration at `size`, and their ratio (2 ÷ 1). */
function efficiency(steps: MulticoreStep[], shape: Shape, size: number) {
  const of = (workers: number) =>
    steps.filter((s) => s.shape === shape && s.size === size && s.media_workers === workers);
  const one = median(of(1).map(deliveredPerCore));
  const two = median(of(2).map(deliveredPerCore));
  return {
    size,
    one_worker_delivered_pps_per_core: round(one, 0),
    two_workers_delivered_pps_per_core: round(two, 0),
    one_worker_us_per_packet: round(median(of(1).map(usPerPacket)), 3),
    two_workers_us_per_packet: round(median(of(2).map(usPerPacket)), 3),
    /** Highest minus lowest µs per packet of the rounds (0 with one round: unknown). */
    one_worker_us_range: round(range(of(1).map(usPerPacket)), 3),
    two_workers_us_range: round(range(of(2).map(usPerPacket)), 3),
    loss_one_worker: round(median(of(1).map((s) => s.loss)), 5),
    loss_two_workers: round(median(of(2).map((s) => s.loss)), 5),
    ratio: round(ratio(two, one), 3),
  };
}

export async function runMulticore(o: MulticoreOptions) {
  const steps: MulticoreStep[] = [];
  const run = async (shape: Shape, workers: 1 | 2, size: number, roundNo: number) => {
    const cores =
      o.plan.mode === 'scaling'
        ? workers === 1
          ? o.plan.oneWorkerCores
          : o.plan.twoWorkerCores
        : o.plan.serverCores;
    const options: Omit<StepOptions, 'progress'> = {
      system: 'bbmeet',
      scenario: 'fanout',
      size,
      fanout: shape === 'one_room' ? 0 : SMALL_ROOM_SUBSCRIBERS,
      speakers: 0,
      warmupSeconds: o.warmupSeconds,
      seconds: o.seconds,
      sampleEvery: 8,
      serverCores: cores,
      loadCores: o.plan.loadCores,
      mediaWorkers: workers,
      loadProcesses: o.plan.subscriberProcesses,
      framesFile: o.framesFile,
      unpaced: o.unpaced,
    };
    const done = steps.length;
    const result = await runStep({
      ...options,
      progress: (f, what) => o.progress(done, f, `${workers}w ${shape}: ${what}`),
    });
    const step: MulticoreStep = { ...result, shape, round: roundNo, server_cores_given: cores };
    steps.push(step);
    return step;
  };

  if (o.plan.mode === 'efficiency') {
    for (let r = 1; r <= o.rounds; r++)
      for (const shape of SHAPES)
        for (const workers of r % 2 === 1 ? ([1, 2] as const) : ([2, 1] as const))
          await run(shape, workers, o.subs, r);
  } else {
    for (const shape of SHAPES)
      for (const workers of [1, 2] as const) {
        const given = workers === 1 ? o.plan.oneWorkerCores : o.plan.twoWorkerCores;
        for (const size of ladderSizes(o.subs, o.maxSubs))
          if (saturation(await run(shape, workers, size, 1), coreCount(given)) !== null) break;
      }
  }
  return { steps, figures: multicoreFigures(o.plan, steps) };
}

/** The summary's multicore figures from the steps run (see runMulticore). */
export function multicoreFigures(plan: MulticorePlan, steps: MulticoreStep[]) {
  const byShape = Object.fromEntries(
    SHAPES.map((shape) => {
      const of = (workers: number) => steps.filter((s) => s.shape === shape && s.media_workers === workers);
      // Equal load: the largest size both configurations ran without saturating the one worker
      // (efficiency mode: the one size there is).
      const oneSizes = new Set(of(1).map((s) => s.size));
      const shared = [...new Set(of(2).map((s) => s.size))]
        .filter((n) => oneSizes.has(n))
        .sort((a, b) => a - b);
      const unsaturated = shared.filter((n) =>
        of(1).every((s) => s.size !== n || saturation(s, givenCores(s)) === null),
      );
      const equalSize = unsaturated.at(-1) ?? shared[0];
      const eff = equalSize === undefined ? null : efficiency(steps, shape, equalSize);
      let scaling = null;
      if (plan.mode === 'scaling') {
        const one = saturationPps(of(1), 1);
        const two = saturationPps(of(2), 2);
        // Where each ladder stopped and why: a stop by loss with the server's cores not full and
        // the load's busy says the load generators, not the server, were the limit.
        const stop = (steps: MulticoreStep[]) => {
          const last = steps.at(-1);
          return last
            ? {
                size: last.size,
                by: saturation(last, givenCores(last)),
                server_cpu_cores: round(last.cpu_cores, 3),
                load_cpu_cores: round(last.load_cpu_cores, 3),
              }
            : null;
        };
        scaling = {
          one_worker: { ...one, pps: round(one.pps, 0), stopped: stop(of(1)) },
          two_workers: { ...two, pps: round(two.pps, 0), stopped: stop(of(2)) },
          // One worker short of saturation gives no scaling (two floors); two workers short of it
          // give a floor of the scaling (≥ the figure).
          ratio: one.reached ? round(ratio(two.pps, one.pps), 3) : null,
          note: !one.reached
            ? 'one worker did not saturate by --multicore-max-subs: raise it'
            : !two.reached
              ? 'two workers did not saturate by --multicore-max-subs: the ratio is a floor'
              : null,
        };
      }
      return [shape, { efficiency: eff, saturation: scaling, spread: spread(steps, shape) }];
    }),
  ) as Record<
    Shape,
    {
      efficiency: ReturnType<typeof efficiency> | null;
      saturation: unknown;
      spread: ReturnType<typeof spread>;
    }
  >;
  const oneRoom = byShape.one_room;
  const manyRooms = byShape.many_rooms;
  // What spanning costs: the extra CPU per forwarded packet of 2 workers over 1 in one room,
  // beyond that of many rooms (where nothing is relayed), in µs.
  const extra = (e: ReturnType<typeof efficiency> | null) =>
    e && e.two_workers_us_per_packet !== null && e.one_worker_us_per_packet !== null
      ? e.two_workers_us_per_packet - e.one_worker_us_per_packet
      : null;
  const relayExtra = extra(oneRoom.efficiency);
  const baseExtra = extra(manyRooms.efficiency);
  const spanExtraUs = relayExtra !== null && baseExtra !== null ? relayExtra - baseExtra : null;
  // How far the four medians it is made of could move: half the spread of each one's rounds.
  // Unknown (null) when a configuration ran one round only.
  const ranges = [oneRoom.efficiency, manyRooms.efficiency].flatMap((e) =>
    e ? [e.one_worker_us_range, e.two_workers_us_range] : [null],
  );
  const noiseUs =
    spanExtraUs !== null && ranges.every((r) => r !== null && r > 0)
      ? ranges.reduce((sum: number, r) => sum + r! / 2, 0)
      : null;
  // The same per relayed packet: µs per delivered packet × delivered packets per relayed one.
  const delivered = median(
    steps.filter((s) => s.shape === 'one_room' && s.media_workers === 2).map((s) => s.delivered_pps),
  );
  const relayedPps = oneRoom.spread.relayed_pps;
  const scaling = (shape: Shape) =>
    (byShape[shape].saturation as { ratio: number | null } | null)?.ratio ?? null;
  return {
    multicore_scaling_one_room: scaling('one_room'),
    multicore_scaling_many_rooms: scaling('many_rooms'),
    multicore_efficiency_one_room: oneRoom.efficiency?.ratio ?? null,
    multicore_efficiency_many_rooms: manyRooms.efficiency?.ratio ?? null,
    multicore_relay_extra_us_per_packet: round(spanExtraUs, 3),
    multicore_relay_extra_noise_us: round(noiseUs, 3),
    multicore_relay_extra_note:
      spanExtraUs === null
        ? null
        : noiseUs === null
          ? 'noise unknown (a configuration ran one round): run --multicore-rounds 3 or more'
          : Math.abs(spanExtraUs) <= noiseUs
            ? `within the rounds' noise (±${round(noiseUs, 3)} µs per packet): no measurable cost of spanning`
            : null,
    multicore_relay_us_per_relayed_packet:
      spanExtraUs !== null && delivered !== null && relayedPps
        ? round((spanExtraUs * delivered) / relayedPps, 2)
        : null,
    multicore: {
      mode: plan.mode,
      placement: plan.description,
      one_room: oneRoom,
      many_rooms: manyRooms,
    },
  };
}

export type MulticoreFigures = ReturnType<typeof multicoreFigures>;
