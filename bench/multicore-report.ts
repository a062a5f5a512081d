// The multicore scenario's table in BENCHMARKS.md: one row per step, with each media worker's
// share (subscriptions, forwarded packets/s, CPU) and the relays between workers.

import type { MulticoreStep } from './multicore.ts';

const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function multicoreTable(steps: readonly MulticoreStep[]): string {
  const head =
    '| shape | round | media workers | server CPU given | subscribers | out pps | delivered pps | server CPU (cores) | delivered pps / core | loss % | per worker: subscriptions / forwarded pps / CPU | relayed tracks / pps | joins failed | load CPU (cores) |\n' +
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|';
  const rows = steps.map((s) => {
    const workers =
      s.workers
        ?.map((w) => `w${w.worker}: ${w.subscriptions} / ${int(w.forwarded_pps)} / ${fixed(w.cpu_cores, 3)}`)
        .join('; ') ?? '–';
    const relayedPps = s.workers?.reduce((sum, w) => sum + w.relayed_sent_pps, 0);
    const relayed =
      s.relays === null ? '–' : `${s.relays} / ${relayedPps === undefined ? '–' : int(relayedPps)}`;
    const perCore = s.cpu_cores > 0 ? s.delivered_pps / s.cpu_cores : Number.NaN;
    return `| ${s.shape.replace('_', ' ')} | ${s.round} | ${s.media_workers} | ${s.server_cores_given || 'all'} | ${s.size} | ${int(s.out_pps)} | ${int(s.delivered_pps)} | ${fixed(s.cpu_cores, 3)} | ${int(perCore)} | ${fixed(s.loss * 100, 2)} | ${workers} | ${relayed} | ${s.join_failures} | ${fixed(s.load_cpu_cores, 2)} |`;
  });
  return [head, ...rows].join('\n');
}
