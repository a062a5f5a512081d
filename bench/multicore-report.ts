// The multicore scenario's table in BENCHMARKS.md: one row per step, with each media worker's
// share (subscriptions, forwarded packets/s, CPU) and the relays between workers.

import type { MulticoreStep } from './multicore.ts';

const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function multicoreTable(steps: readonly MulticoreStep[]): string {
  const head =
    '| shape | round | media workers | server CPU given | subscribers | out pps | server CPU (cores) | out pps / core | loss % | per worker: subscriptions / out pps / CPU | relayed tracks | load CPU (cores) |\n' +
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|';
  const rows = steps.map((s) => {
    const workers =
      s.workers
        ?.map((w) => `w${w.worker}: ${w.subscriptions} / ${int(w.forwarded_pps)} / ${fixed(w.cpu_cores, 3)}`)
        .join('; ') ?? '–';
    return `| ${s.shape.replace('_', ' ')} | ${s.round} | ${s.media_workers} | ${s.server_cores_given || 'all'} | ${s.size} | ${int(s.out_pps)} | ${fixed(s.cpu_cores, 3)} | ${int(s.out_pps_per_core)} | ${fixed(s.loss * 100, 2)} | ${workers} | ${s.relays ?? '–'} | ${fixed(s.load_cpu_cores, 2)} |`;
  });
  return [head, ...rows].join('\n');
}
