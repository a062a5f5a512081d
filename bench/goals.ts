// The issue's goals (BENCHMARKS.md "Goals and current figures"): each figure of the bench's summary
// with its target, and the table that says whether it is met or by how much it falls short.

export interface Goal {
  key: string;
  label: string;
  /** 'min': the figure must reach `target`; 'max': stay at or below it. */
  kind: 'min' | 'max';
  target: number;
  /** The `skipped` entry that says why the figure is missing, when it can be. */
  skippedKey?: string;
}

/** Performance, round two (issue 17). */
export const GOALS: Goal[] = [
  {
    key: 'out_pps_per_core',
    label: 'forwarded packets/s per core, DTLS-SRTP, fan-out 16',
    kind: 'min',
    target: 150_000,
  },
  { key: 'ratio_vs_raw_udp', label: '× the raw UDP fan-out (packets/s per core)', kind: 'min', target: 0.8 },
  { key: 'ratio_vs_werift', label: '× the werift forwarder (packets/s per core)', kind: 'min', target: 6 },
  {
    key: 'cpu_millicores_per_video_sub',
    label: 'milli-cores per 1.5 Mbit/s video subscriber',
    kind: 'max',
    target: 1.5,
  },
  {
    key: 'server_latency_p50_ms',
    label: 'added forwarding latency inside the server p50, ms (half capacity)',
    kind: 'max',
    target: 0.3,
  },
  {
    key: 'server_latency_p99_ms',
    label: 'added forwarding latency inside the server p99, ms (half capacity)',
    kind: 'max',
    target: 2,
  },
  {
    key: 'e2e_latency_p99_ms_max_below_saturation',
    label: 'worst end-to-end latency p99 of a step below saturation, ms',
    kind: 'max',
    target: 50,
  },
  {
    key: 'first_frame_p50_ms',
    label: 'subscribe → first decoded frame in Chromium p50, ms',
    kind: 'max',
    target: 300,
  },
  {
    key: 'first_frame_p95_ms',
    label: 'subscribe → first decoded frame in Chromium p95, ms',
    kind: 'max',
    target: 600,
  },
  {
    key: 'multicore_scaling_one_room',
    label: 'packets/s with 2 media workers ÷ 1, one room spanning workers',
    kind: 'min',
    target: 1.8,
    skippedKey: 'multicore',
  },
  {
    key: 'multicore_scaling_many_rooms',
    label: 'packets/s with 2 media workers ÷ 1, many small rooms',
    kind: 'min',
    target: 1.8,
    skippedKey: 'multicore',
  },
  {
    key: 'webinar_capacity_subs',
    label: 'webinar: subscribers of one 3-layer publisher on the lowest layers',
    kind: 'min',
    target: 1000,
    skippedKey: 'rooms_webinar',
  },
  {
    key: 'audio_room_capacity_listeners',
    label: 'audio room: listeners of 10 speakers',
    kind: 'min',
    target: 1000,
    skippedKey: 'rooms_audio_room',
  },
  {
    key: 'meeting_capacity_participants',
    label: 'meeting: participants each publishing and receiving all',
    kind: 'min',
    target: 25,
    skippedKey: 'rooms_meeting',
  },
  { key: 'idle_rss_mb', label: 'idle server RSS, one media worker per core, MB', kind: 'max', target: 150 },
  { key: 'rss_mb_per_participant', label: 'server RSS per participant, MB', kind: 'max', target: 1 },
  {
    key: 'forwarding_alloc_bytes_per_packet',
    label: 'bytes allocated per forwarded packet in steady state',
    kind: 'max',
    target: 0,
  },
];

export function goalsTable(summary: Record<string, unknown>): string {
  const rows = GOALS.map((g) => {
    const v = summary[g.key];
    if (typeof v !== 'number') {
      const why = g.skippedKey ? skippedOf(summary)[g.skippedKey] : undefined;
      // A sweep that failed at its smallest size measured something: the figure is below it.
      const status = why?.startsWith('below ')
        ? `short: ${firstClause(why)}`
        : `not measured${why ? `: ${firstClause(why)}` : ''}`;
      return `| ${g.label} | ${g.kind === 'min' ? '≥' : '≤'} ${g.target} | – | ${status} |`;
    }
    const met = g.kind === 'min' ? v >= g.target : v <= g.target;
    const factor = g.kind === 'min' ? g.target / v : v / g.target;
    const status = met
      ? 'met'
      : g.target === 0
        ? `short: ${v} above the goal`
        : `short: ${factor.toFixed(1)}× ${g.kind === 'min' ? 'below' : 'above'} the goal`;
    return `| ${g.label} | ${g.kind === 'min' ? '≥' : '≤'} ${g.target} | ${v} | ${status} |`;
  });
  return ['| goal | target | measured | status |', '|---|---:|---:|---|', ...rows].join('\n');
}

function skippedOf(summary: Record<string, unknown>): Record<string, string> {
  const s = summary.skipped;
  return s && typeof s === 'object' ? (s as Record<string, string>) : {};
}

/** A skip reason up to its first colon or semicolon (the rest is in the JSON summary). */
export function firstClause(reason: string): string {
  const cut = reason.search(/[:;]/);
  return (cut > 0 ? reason.slice(0, cut) : reason).replace(/\|/g, '/').trim();
}
