// Measures `bbmeet start`: time from spawn to "ready" (health answering) and idle RSS after
// settling, over several runs on a fresh data directory each time (embedded database).
// Usage: npm run bench:startup [-- --runs 5]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'settle-ms': { type: 'string', default: '3000' } },
});
const runs = Number(values.runs);
const settleMs = Number(values['settle-ms']);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function once(): Promise<{ readyMs: number; rssMb: number }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-bench-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/bbmeet.mjs', 'start'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      APP_PORT: String(port),
      APP_HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
    },
    stdio: 'ignore',
  });
  let readyMs = Number.NaN;
  while (performance.now() - started < 30_000) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const rss = rssMb(child.pid!);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await rm(dataDir, { recursive: true, force: true });
  return { readyMs, rssMb: rss };
}

const results: Array<{ readyMs: number; rssMb: number }> = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  results.push(r);
  process.stderr.write(
    `run ${i + 1}/${runs}: ready ${r.readyMs.toFixed(0)} ms, idle RSS ${r.rssMb.toFixed(1)} MB\n`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    runs,
    ready_ms_p50: Math.round(median(results.map((r) => r.readyMs))),
    idle_rss_mb_p50: Number(median(results.map((r) => r.rssMb)).toFixed(1)),
    goals: { ready_ms: 2000, idle_rss_mb: 150 },
  }),
);
