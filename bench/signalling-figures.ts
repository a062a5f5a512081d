// The signalling scenario's figures, from what was measured over each window: counts of the load
// processes, the server's CPU seconds from /proc, latency samples. Pure: unit-tested in
// test/bench/signalling-units.test.ts.
import { percentile, round } from './stats.ts';

/** One measured window of the signalling scenario. */
export interface SignallingPhase {
  /** joins | chat | rest_token | rest_join | bare_fastify */
  name: string;
  seconds: number;
  /** Server (or bare fastify) CPU over the window, in cores. */
  cpu_cores: number;
  /** Operations done in the window (join cycles, messages, requests). */
  count: number;
  per_second: number;
  /** Operations per second of server CPU: count / (utime + stime over the window). */
  per_core: number | null;
  /** chat: `chat.send` received by the room's sockets; joins: broadcasts received. */
  fanout_count: number;
  fanout_per_second: number;
  fanout_per_core: number | null;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  /** Further latencies of the phase's parts (p50/p99, ms), e.g. publish and leave acks. */
  parts: Record<string, { p50_ms: number | null; p99_ms: number | null }>;
  errors: number;
  first_error: string | null;
  load_cpu_cores: number;
  /** The load processes used (nearly) all their cores: the server was not saturated. */
  load_bound: boolean;
}

/** Cores in a taskset list ("0", "2-3", "0,2-3"); 0 for an empty list (not pinned). */
export function countCores(list: string): number {
  let n = 0;
  for (const part of list.split(',').map((s) => s.trim())) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new TypeError(`not a CPU list: '${list}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new TypeError(`not a CPU list: '${list}'`);
    n += b - a + 1;
  }
  return n;
}

/** Splits `n` items over `parts` as evenly as possible (first parts one larger). */
export function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/** Operations per second of CPU (per core): null when no CPU was measured. */
export function perCore(count: number, cpuSeconds: number): number | null {
  return cpuSeconds > 0 ? count / cpuSeconds : null;
}

/** a / b, or null when either is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || !(b > 0) ? null : a / b;
}

/** p50 and p99 of samples in ms (null when none). */
export function quantiles(samples: readonly number[]): { p50_ms: number | null; p99_ms: number | null } {
  if (samples.length === 0) return { p50_ms: null, p99_ms: null };
  return { p50_ms: percentile(samples, 0.5), p99_ms: percentile(samples, 0.99) };
}

/** A phase's figures from the counts at both ends of its window. */
export function phaseFigures(m: {
  name: string;
  seconds: number;
  cpuSeconds: number;
  count: number;
  fanoutCount?: number;
  latencyMs: readonly number[];
  parts?: Record<string, readonly number[]>;
  errors: number;
  firstError?: string | undefined;
  loadCpuSeconds: number;
  loadCores: number;
}): SignallingPhase {
  const fanout = m.fanoutCount ?? 0;
  const q = quantiles(m.latencyMs);
  const loadCpuCores = m.seconds > 0 ? m.loadCpuSeconds / m.seconds : 0;
  return {
    name: m.name,
    seconds: m.seconds,
    cpu_cores: m.seconds > 0 ? m.cpuSeconds / m.seconds : 0,
    count: m.count,
    per_second: m.seconds > 0 ? m.count / m.seconds : 0,
    per_core: perCore(m.count, m.cpuSeconds),
    fanout_count: fanout,
    fanout_per_second: m.seconds > 0 ? fanout / m.seconds : 0,
    fanout_per_core: perCore(fanout, m.cpuSeconds),
    latency_p50_ms: q.p50_ms,
    latency_p99_ms: q.p99_ms,
    parts: Object.fromEntries(Object.entries(m.parts ?? {}).map(([k, v]) => [k, quantiles(v)])),
    errors: m.errors,
    first_error: m.firstError ?? null,
    load_cpu_cores: loadCpuCores,
    load_bound: m.loadCores > 0 && loadCpuCores >= 0.85 * m.loadCores,
  };
}

/** The summary keys of the signalling scenario (null with `skipped.signalling` when it did not run). */
export function signallingFigures(phases: SignallingPhase[] | undefined) {
  const get = (name: string) => phases?.find((p) => p.name === name);
  const joins = get('joins');
  const chat = get('chat');
  const token = get('rest_token');
  const join = get('rest_join');
  const bare = get('bare_fastify');
  const r0 = (v: number | null | undefined) => round(v, 0);
  const r3 = (v: number | null | undefined) => round(v, 3);
  return {
    signalling_join_events_per_core: r0(joins?.per_core),
    signalling_join_events_per_s: r0(joins?.per_second),
    signalling_join_p50_ms: r3(joins?.latency_p50_ms),
    signalling_join_p99_ms: r3(joins?.latency_p99_ms),
    signalling_join_publish_p50_ms: r3(joins?.parts.publish?.p50_ms),
    signalling_join_publish_p99_ms: r3(joins?.parts.publish?.p99_ms),
    signalling_chat_messages_per_core: r0(chat?.per_core),
    signalling_chat_deliveries_per_core: r0(chat?.fanout_per_core),
    signalling_chat_messages_per_s: r0(chat?.per_second),
    signalling_chat_deliveries_per_s: r0(chat?.fanout_per_second),
    signalling_chat_p50_ms: r3(chat?.latency_p50_ms),
    signalling_chat_p99_ms: r3(chat?.latency_p99_ms),
    signalling_chat_delivery_p50_ms: r3(chat?.parts.delivery?.p50_ms),
    signalling_chat_delivery_p99_ms: r3(chat?.parts.delivery?.p99_ms),
    rest_token_rps_per_core: r0(token?.per_core),
    rest_token_rps: r0(token?.per_second),
    rest_token_p50_ms: r3(token?.latency_p50_ms),
    rest_token_p99_ms: r3(token?.latency_p99_ms),
    rest_join_rps_per_core: r0(join?.per_core),
    rest_join_rps: r0(join?.per_second),
    rest_join_p50_ms: r3(join?.latency_p50_ms),
    rest_join_p99_ms: r3(join?.latency_p99_ms),
    bare_fastify_rps_per_core: r0(bare?.per_core),
    bare_fastify_rps: r0(bare?.per_second),
    bare_fastify_p50_ms: r3(bare?.latency_p50_ms),
    bare_fastify_p99_ms: r3(bare?.latency_p99_ms),
    rest_token_ratio_vs_bare: r3(ratio(token?.per_core, bare?.per_core)),
    rest_join_ratio_vs_bare: r3(ratio(join?.per_core, bare?.per_core)),
    signalling_phases: phases?.map(roundPhase) ?? null,
  };
}

/** A phase for the JSON summary: numbers (latencies of the parts too) to 3 decimals. */
function roundPhase(p: SignallingPhase) {
  const parts = Object.fromEntries(
    Object.entries(p.parts).map(([k, v]) => [k, { p50_ms: round(v.p50_ms, 3), p99_ms: round(v.p99_ms, 3) }]),
  );
  return {
    ...Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'number' ? round(v, 3) : v])),
    parts,
  };
}

export type SignallingFigures = ReturnType<typeof signallingFigures>;
