// What the bench writes: the machine description, the markdown tables for BENCHMARKS.md (between
// markers, so a run replaces its previous results) and the SVG chart of forwarded packets/s and
// loss against subscribers.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { CostRow } from './profile.ts';
import type { StepResult } from './step-types.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  node: string;
  kernel: string;
  os: string;
  pinning: string;
  load_average: number[];
}

export function describeMachine(pinning: string): Machine {
  let osName = os.type();
  try {
    const release = execFileSync('cat', ['/etc/os-release'], { encoding: 'utf8' });
    osName = /PRETTY_NAME="([^"]+)"/.exec(release)?.[1] ?? osName;
  } catch {
    // not Linux: the OS type is enough
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    os: osName,
    pinning,
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
const int = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US');

export function stepsTable(steps: StepResult[]): string {
  const head =
    '| system | scenario | size | pubs | subscriptions | out pps | server CPU (cores) | out pps / core | m-cores / subscription | loss % | latency p50 / p99 ms | in-server latency p50 / p99 ms | first RTP p50 / p95 ms | RSS MB / participant | joins failed | input drops at the server socket | load CPU (cores) |\n' +
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = steps.map(
    (s) =>
      `| ${s.system} | ${s.scenario} | ${s.size} | ${s.publishers} | ${s.subscriptions} | ${int(s.out_pps)} | ${fmt(s.cpu_cores, 3)} | ${int(s.out_pps_per_core)} | ${fmt(s.cpu_millicores_per_subscription, 2)} | ${fmt(s.loss * 100, 2)} | ${fmt(s.latency_p50_ms, 2)} / ${fmt(s.latency_p99_ms, 2)} | ${fmt(s.server_latency_p50_ms, 2)} / ${fmt(s.server_latency_p99_ms, 2)} | ${fmt(s.join_first_rtp_p50_ms, 0)} / ${fmt(s.join_first_rtp_p95_ms, 0)} | ${fmt(s.rss_mb_per_participant, 2)} | ${s.join_failures} | ${s.server_socket_drops ?? '–'} | ${fmt(s.load_cpu_cores, 2)} |`,
  );
  return [head, ...rows].join('\n');
}

export function machineLines(m: Machine): string {
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores available, ${m.memory_gb} GiB`,
    `- OS: ${m.os}, kernel ${m.kernel}; Node ${m.node}`,
    `- Placement: ${m.pinning}`,
    `- Load average when the run started: ${m.load_average.join(', ')} (other work on the machine shows up as noise)`,
  ].join('\n');
}

export function costsTable(costs: { threads: number; top: CostRow[] }): string {
  return [
    `Self time, as a share of the busy (non-idle) samples of the server's ${costs.threads} profiled threads:`,
    '',
    '| self % | function | where |',
    '|---:|---|---|',
    ...costs.top.map((c) => `| ${c.selfPercent.toFixed(1)} | \`${c.function}\` | ${c.where} |`),
  ].join('\n');
}

/**
 * Replaces the text between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` in
 * `file` (appends the block when the markers are missing).
 */
export async function writeSection(file: string, name: string, section: string): Promise<void> {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const block = `${start}\n${section.trim()}\n${end}`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  text =
    a >= 0 && b > a
      ? text.slice(0, a) + block + text.slice(b + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(file, text);
}

/** A line chart: forwarded packets/s (left axis) and loss % (right axis) against subscribers. */
export function forwardingSvg(
  series: Array<{ name: string; color: string; points: Array<{ subs: number; pps: number; loss: number }> }>,
  title: string,
): string {
  const W = 720;
  const H = 400;
  const L = 80;
  const R = 70;
  const T = 50;
  const B = 60;
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.subs));
  const maxY = Math.max(1, ...all.map((p) => p.pps)) * 1.1;
  const maxLoss = Math.max(1, ...all.map((p) => p.loss * 100)) * 1.1;
  const x = (v: number) => L + (v / maxX) * (W - L - R);
  const y = (v: number) => H - B - (v / maxY) * (H - T - B);
  const yl = (v: number) => H - B - (v / maxLoss) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${W - R}" y1="${T}" x2="${W - R}" y2="${H - B}" stroke="#999"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 20}" text-anchor="middle">subscribers</text>`,
    `<text x="18" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(T + H - B) / 2})">forwarded packets/s (solid)</text>`,
    `<text x="${W - 18}" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(90 ${W - 18} ${(T + H - B) / 2})">loss % (dashed)</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (maxY * i) / 5;
    const lv = (maxLoss * i) / 5;
    out.push(
      `<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`,
      `<text x="${W - R + 6}" y="${yl(lv) + 4}">${lv.toFixed(1)}</text>`,
    );
  }
  for (const subs of [...new Set(all.map((p) => p.subs))].sort((a, b) => a - b))
    out.push(`<text x="${x(subs)}" y="${H - B + 16}" text-anchor="middle">${subs}</text>`);
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.subs - b.subs);
    if (pts.length === 0) return;
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${x(p.subs)},${y(p.pps)}`).join(' ')}"/>`,
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" stroke-dasharray="5,4" points="${pts.map((p) => `${x(p.subs)},${yl(p.loss * 100)}`).join(' ')}"/>`,
      ...pts.map((p) => `<circle cx="${x(p.subs)}" cy="${y(p.pps)}" r="3.5" fill="${s.color}"/>`),
      `<rect x="${L + 12}" y="${T + 8 + i * 18}" width="14" height="4" fill="${s.color}"/>`,
      `<text x="${L + 32}" y="${T + 14 + i * 18}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
