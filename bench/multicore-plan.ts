// Where the bench's processes run, as pure functions of the machine's core count (and whether
// taskset is there), and the multicore scenario's arithmetic: when a step is saturated, the
// packets/s at saturation, and the ratios it reports. No I/O here, so test/bench tests it all.

/** The ordinary split: the server on the first half of the cores, the load on the other half. */
export interface CoreSplit {
  pinned: boolean;
  serverCores: string;
  loadCores: string;
  description: string;
}

/** `a-b`, or `a` when the range holds one core. */
export function cpuRange(first: number, last: number): string {
  return first === last ? String(first) : `${first}-${last}`;
}

export function splitCores(cores: number, taskset: boolean): CoreSplit {
  if (!taskset || cores < 2)
    return {
      pinned: false,
      serverCores: '',
      loadCores: '',
      description: 'not pinned (taskset missing or one core)',
    };
  const half = Math.max(1, Math.floor(cores / 2));
  const serverCores = cpuRange(0, half - 1);
  const loadCores = cpuRange(half, cores - 1);
  return {
    pinned: true,
    serverCores,
    loadCores,
    description: `server on CPU ${serverCores}, load on CPU ${loadCores} (taskset)`,
  };
}

/** Cores the multicore scaling needs: one per media worker (2) and at least 2 for the load. */
export const SCALING_MIN_CORES = 4;

/**
 * The multicore scenario's placement.
 * - `scaling` (≥ 4 cores and taskset): one media worker pinned to CPU 0, then two media workers
 *   pinned to CPU 0-1, the load on the remaining cores in both cases (its subscribers spread
 *   over one process per load core), each raised until the server saturates.
 * - `efficiency` (fewer cores or no taskset): the load and a second server core cannot be kept
 *   apart, so saturation would measure the load generators as much as the server. Both
 *   configurations run at the same load on the ordinary split (splitCores), and what is compared
 *   is CPU per forwarded packet; `reason` says what the scaling would need.
 */
export type MulticorePlan =
  | {
      mode: 'scaling';
      oneWorkerCores: string;
      twoWorkerCores: string;
      loadCores: string;
      subscriberProcesses: number;
      description: string;
    }
  | {
      mode: 'efficiency';
      serverCores: string;
      loadCores: string;
      subscriberProcesses: number;
      reason: string;
      description: string;
    };

export function multicorePlan(cores: number, taskset: boolean): MulticorePlan {
  if (taskset && cores >= SCALING_MIN_CORES) {
    const loadCores = cpuRange(2, cores - 1);
    return {
      mode: 'scaling',
      oneWorkerCores: '0',
      twoWorkerCores: '0-1',
      loadCores,
      subscriberProcesses: cores - 2,
      description: `1 media worker on CPU 0, then 2 on CPU 0-1; load on CPU ${loadCores} (taskset)`,
    };
  }
  const split = splitCores(cores, taskset);
  const why = !taskset
    ? 'taskset is missing, so the server and the load cannot be kept on separate cores'
    : `this machine has ${cores} core${cores === 1 ? '' : 's'}: the load generators would share the server's cores`;
  return {
    mode: 'efficiency',
    serverCores: split.serverCores,
    loadCores: split.loadCores,
    subscriberProcesses: 1,
    reason:
      `${why}. The scaling at saturation needs ≥ ${SCALING_MIN_CORES} cores and taskset ` +
      '(2 for the server: one per media worker; 2+ for the load generators); measured instead: CPU ' +
      'efficiency with 2 media workers vs 1 at the same load',
    description: `1 and 2 media workers, both ${split.pinned ? `on CPU ${split.serverCores}, load on CPU ${split.loadCores}` : 'unpinned'}`,
  };
}

/** What a saturation ladder reads of a step. */
export interface LadderStep {
  size: number;
  out_pps: number;
  cpu_cores: number;
  loss: number;
}

export const SATURATION_LOSS = 0.01;
/** A server using this share of its cores is full. */
export const SATURATION_CPU_SHARE = 0.9;

/** Why a step counts as saturated ('loss' > 1 %, or 'cpu': its cores are full), or null. */
export function saturation(step: LadderStep, serverCoreCount: number): 'loss' | 'cpu' | null {
  if (step.loss > SATURATION_LOSS) return 'loss';
  if (step.cpu_cores >= SATURATION_CPU_SHARE * serverCoreCount) return 'cpu';
  return null;
}

/**
 * Packets/s forwarded at saturation: the most any step forwarded with loss ≤ 1 % (a step past
 * saturation forwards more copies only by losing them), and whether the ladder did reach
 * saturation (else the figure is a floor: the largest size was not enough).
 */
export function saturationPps(steps: readonly LadderStep[], serverCoreCount: number) {
  const clean = steps.filter((s) => s.loss <= SATURATION_LOSS);
  const best = [...clean].sort((a, b) => b.out_pps - a.out_pps)[0];
  const reached = steps.some((s) => saturation(s, serverCoreCount) !== null);
  return { pps: best?.out_pps ?? null, size: best?.size ?? null, reached };
}

/** Sizes to climb, smallest first (subscribers in all), up to `max`. */
export function ladderSizes(start: number, max: number): number[] {
  const sizes: number[] = [];
  for (let n = start; n <= max; n = n < 256 ? n * 2 : n + 256) sizes.push(n);
  return sizes;
}

export function median(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** a ÷ b when both are positive numbers, else null. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return typeof a === 'number' && typeof b === 'number' && a > 0 && b > 0 ? a / b : null;
}
