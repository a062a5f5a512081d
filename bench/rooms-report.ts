// The big rooms' part of BENCHMARKS.md (--write-md): each sweep step with its verdict, and the
// capacities found, between the `bench:rooms` markers.
import path from 'node:path';
import { type Machine, machineLines, writeSection } from './report.ts';
import type { RoomsSummary } from './rooms.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

const num = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);

/** The big rooms' figures, in the order the reports list them (here and in "Last run"). */
export const ROOMS_FIGURE_KEYS = [
  'webinar_capacity_subs',
  'webinar_loss',
  'webinar_cpu_millicores_per_sub',
  'webinar_capacity_extrapolated',
  'audio_room_capacity_listeners',
  'audio_room_loss',
  'audio_room_capacity_extrapolated',
  'meeting_capacity_participants',
  'meeting_loss',
  'meeting_capacity_extrapolated',
] as const;

export function roomsSection(summary: RoomsSummary, machine: Machine, seconds: number): string {
  const keys = ROOMS_FIGURE_KEYS;
  const steps = summary.rooms_steps.map(
    (s) =>
      `| ${s.shape} | ${s.size} | ${s.outcome}${s.loadBusy ? ' (load busy)' : ''} | ${s.subscriptions} | ${Math.round(s.out_pps)} | ${s.server_forwarded_pps ?? '–'} | ${num(s.kbps_per_subscription, 0)} | ${num(s.cpu_cores)} | ${num(s.load_cpu_cores)} | ${num(s.other_cpu_cores)} | ${num(s.serverLoss * 100)} | ${s.receiverLoss === null ? '–' : num(s.receiverLoss * 100)} | ${num(s.latency_p99_ms, 1)} / ${num(s.server_latency_p99_ms, 1)} | ${s.join_failures} | ${s.reasons.join('; ') || '–'} |`,
  );
  return [
    `### Last big-rooms run (${new Date().toISOString().slice(0, 16)}Z, ${Math.round(seconds)} s)`,
    '',
    machineLines(machine),
    '',
    '| figure | value |',
    '|---|---:|',
    ...keys.map((k) => `| \`${k}\` | ${summary[k] ?? '–'} |`),
    '',
    '| shape | size | verdict | subscriptions | received + lost pps | server sent pps | kbit/s per subscription | server CPU | load CPU | other CPU | server-added loss % | receivers missed % | latency p99 ms (end to end / in server) | joins failed | why |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...steps,
    '',
    summary.rooms ?? '',
  ].join('\n');
}

export async function writeRoomsSection(
  summary: RoomsSummary,
  machine: Machine,
  seconds: number,
): Promise<void> {
  await writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'rooms', roomsSection(summary, machine, seconds));
}
