// Top costs of a V8 CPU profile (node --cpu-prof): self time per function, summed over the
// profiles of every thread of the server (main thread and media workers).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface CostRow {
  function: string;
  where: string;
  /** Share of the busy (non-idle) samples of all threads, %. */
  selfPercent: number;
}

export async function topCosts(profileDir: string, rows = 15): Promise<{ threads: number; top: CostRow[] }> {
  const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile'));
  const self = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  for (const f of files) {
    const profile = JSON.parse(await readFile(path.join(profileDir, f), 'utf8')) as CpuProfile;
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      const { functionName, url, lineNumber } = node.callFrame;
      // Idle threads (the main thread waiting for sockets) are not cost: shares are of busy samples.
      if (hits === 0 || functionName === '(idle)') continue;
      total += hits;
      const fn = functionName || '(anonymous)';
      const where = url
        ? `${url.replace(/^file:\/\/.*?\/(src|bench|node_modules|native)\//, '$1/')}:${lineNumber + 1}`
        : '';
      const key = `${fn}@${where}`;
      const entry = self.get(key) ?? { fn, where, hits: 0 };
      entry.hits += hits;
      self.set(key, entry);
    }
  }
  const top = [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, rows)
    .map((e) => ({ function: e.fn, where: e.where, selfPercent: total ? (100 * e.hits) / total : 0 }));
  return { threads: files.length, top };
}
