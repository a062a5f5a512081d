// The capacity rules of the big-room shapes (bench/rooms.ts), pure: whether one measured size is
// within capacity, whether the server or the load generator was the limit, where a sweep stops, and
// the capacity it found (or, when the load generator stopped it first, an extrapolation from the
// server's CPU per participant, always labelled as such).

/** What a sweep step contributes (a subset of StepResult). */
export interface RoomStep {
  size: number;
  subscriptions: number;
  /** RTP packets/s the receivers expected (received + lost). */
  out_pps: number;
  /** Sequence-gap loss at the receivers, 0..1. */
  loss: number;
  /** What the server wrote to subscribers (its own counter); null when unread. */
  server_forwarded_pps: number | null;
  latency_p99_ms: number | null;
  /** Inside the server (kernel receive → copies sent), from its /metrics. */
  server_latency_p99_ms: number | null;
  cpu_cores: number;
  load_cpu_cores: number;
  /** CPU other work on the machine used meanwhile (null: unknown). */
  other_cpu_cores: number | null;
  join_failures: number;
  subscriptions_with_media: number;
}

export const LIMITS = {
  /** Loss the server may add. */
  maxServerLoss: 0.01,
  /** End-to-end latency p99 (ms). */
  maxP99Ms: 50,
  /** "While the server is below one core": its one media worker plus the main thread. */
  maxServerCores: 0.95,
  /** The load processes' CPU, as a share of the load cores: above it they are the bottleneck. */
  loadBusyShare: 0.85,
  /** Packets the server sent that the receivers never read, as a share: above it the load is the limit. */
  maxReceiverLoss: 0.01,
  /** Cores other work may take meanwhile: beyond, the machine is shared and slows server and load alike. */
  maxOtherCores: 0.25,
} as const;

/** load: the load generator, or the machine it shares with the server, was the limit. */
export type Outcome = 'ok' | 'server' | 'load';

export interface Verdict {
  size: number;
  /** ok: within capacity; server: the server broke a rule; load: the load generator was the limit. */
  outcome: Outcome;
  /** Within capacity, but the load generator was near its limit: the sweep cannot go further. */
  loadBusy: boolean;
  /** Loss the server added: the receivers' loss less what they lost of what the server sent. */
  serverLoss: number;
  /** Of what the server sent, the share the receivers did not read (the load generator's loss). */
  receiverLoss: number | null;
  reasons: string[];
}

/** Judges one step; `loadCores`: the cores the load processes may use. */
export function judgeStep(r: RoomStep, loadCores: number): Verdict {
  const received = r.out_pps * (1 - r.loss);
  const receiverLoss =
    r.server_forwarded_pps !== null && r.server_forwarded_pps > 0
      ? Math.max(0, r.server_forwarded_pps - received) / r.server_forwarded_pps
      : null;
  const serverLoss = Math.max(0, r.loss - (receiverLoss ?? 0));
  const loadShare = loadCores > 0 ? r.load_cpu_cores / loadCores : 0;
  const loadReasons: string[] = [];
  if (loadShare >= LIMITS.loadBusyShare)
    loadReasons.push(`load processes at ${r.load_cpu_cores.toFixed(2)} of ${loadCores} cores`);
  if (receiverLoss !== null && receiverLoss > LIMITS.maxReceiverLoss)
    loadReasons.push(`receivers missed ${(receiverLoss * 100).toFixed(1)} % of what the server sent`);
  if (r.other_cpu_cores !== null && r.other_cpu_cores > LIMITS.maxOtherCores)
    loadReasons.push(`other work on the machine took ${r.other_cpu_cores.toFixed(2)} cores`);
  // An end-to-end tail the server's own histogram does not have comes from outside it (the load
  // generator's event loops, or other work on the machine).
  const outsideTail =
    r.latency_p99_ms !== null &&
    r.latency_p99_ms > LIMITS.maxP99Ms &&
    r.server_latency_p99_ms !== null &&
    r.server_latency_p99_ms <= LIMITS.maxP99Ms;
  // Said, but not held against the server, nor taken for a load limit by itself.
  const notes = outsideTail
    ? [
        `latency p99 ${r.latency_p99_ms!.toFixed(1)} ms end to end, ${r.server_latency_p99_ms!.toFixed(1)} ms in the server`,
      ]
    : [];
  const serverReasons: string[] = [];
  if (r.cpu_cores >= LIMITS.maxServerCores) serverReasons.push(`server at ${r.cpu_cores.toFixed(2)} cores`);
  if (serverLoss > LIMITS.maxServerLoss)
    serverReasons.push(`server-added loss ${(serverLoss * 100).toFixed(2)} %`);
  if (r.latency_p99_ms === null) serverReasons.push('no latency sample');
  else if (r.latency_p99_ms > LIMITS.maxP99Ms && !outsideTail)
    serverReasons.push(
      `latency p99 ${r.latency_p99_ms.toFixed(1)} ms (in the server ${r.server_latency_p99_ms?.toFixed(1) ?? '?'} ms)`,
    );
  if (r.join_failures > 0) serverReasons.push(`${r.join_failures} joins failed`);
  if (r.subscriptions_with_media < r.subscriptions)
    serverReasons.push(`${r.subscriptions - r.subscriptions_with_media} subscriptions got no media`);
  const base = { size: r.size, serverLoss, receiverLoss };
  if (serverReasons.length === 0)
    return { ...base, outcome: 'ok', loadBusy: loadReasons.length > 0, reasons: [...loadReasons, ...notes] };
  // A saturated server is the finding whatever the load did; otherwise a busy load generator
  // explains late, missing and failed packets and joins, and the step says nothing of the server.
  const saturated = r.cpu_cores >= LIMITS.maxServerCores;
  if (!saturated && loadReasons.length > 0)
    return {
      ...base,
      outcome: 'load',
      loadBusy: true,
      reasons: [...loadReasons, ...serverReasons, ...notes],
    };
  return {
    ...base,
    outcome: 'server',
    loadBusy: loadReasons.length > 0,
    reasons: [...serverReasons, ...notes],
  };
}

/** Whether a sweep goes on to the next size after these verdicts. */
export function continueSweep(verdicts: readonly Verdict[]): boolean {
  const last = verdicts.at(-1);
  return last === undefined || (last.outcome === 'ok' && !last.loadBusy);
}

export interface Capacity {
  /** The largest size within capacity (null: none was). */
  capacity: number | null;
  /** The step at that size. */
  at: Verdict | undefined;
  /** Why the sweep stopped: the server's limit, the load generator's, or the sizes ran out. */
  stoppedBy: 'server' | 'load' | 'sizes';
  /** The verdict that stopped it (undefined when the sizes ran out). */
  stop: Verdict | undefined;
}

export function capacityOf(verdicts: readonly Verdict[]): Capacity {
  const ok = verdicts.filter((v) => v.outcome === 'ok');
  const at = [...ok].sort((a, b) => b.size - a.size)[0];
  const last = verdicts.at(-1);
  const stop = last && (last.outcome !== 'ok' || last.loadBusy) ? last : undefined;
  const stoppedBy = stop === undefined ? 'sizes' : stop.outcome === 'server' ? 'server' : 'load';
  return { capacity: at?.size ?? null, at, stoppedBy, stop };
}

/**
 * The size at which the server would reach LIMITS.maxServerCores, from its CPU at the measured
 * sizes: a line through the two largest (fixed cost + cost per participant), or through the origin
 * with one. Null without a usable measurement. An extrapolation, never a measured capacity.
 */
export function extrapolateCapacity(
  points: ReadonlyArray<{ size: number; cpu_cores: number }>,
): number | null {
  const usable = points.filter((p) => p.size > 0 && p.cpu_cores > 0).sort((a, b) => a.size - b.size);
  const b = usable.at(-1);
  if (!b) return null;
  const a = usable.length > 1 ? usable.at(-2)! : undefined;
  let slope = b.cpu_cores / b.size;
  let fixed = 0;
  if (a && b.size > a.size && b.cpu_cores > a.cpu_cores) {
    slope = (b.cpu_cores - a.cpu_cores) / (b.size - a.size);
    fixed = b.cpu_cores - slope * b.size;
  }
  if (slope <= 0 || fixed >= LIMITS.maxServerCores) return null;
  // The epsilon keeps 949.9999… (binary fractions) at 950.
  return Math.floor((LIMITS.maxServerCores - fixed) / slope + 1e-9);
}

/**
 * The load cores a size would need: the load processes' CPU per participant at the largest
 * measured size, scaled, so that they stay under LIMITS.loadBusyShare.
 */
export function loadCoresNeeded(at: { size: number; load_cpu_cores: number }, size: number): number | null {
  if (at.size <= 0 || at.load_cpu_cores <= 0) return null;
  return Math.ceil(((at.load_cpu_cores / at.size) * size) / LIMITS.loadBusyShare);
}
