// Idle memory of `bbmeet start`: the time from spawn to "ready" (/readyz answering) and the server
// process's RSS once settled, over several starts on a fresh data directory each (embedded
// database), with one media worker per core unless told otherwise. The first start runs on an
// empty compile cache of its own (what a first `npm start` after a checkout or an upgrade sees: Node
// strips the TypeScript in every thread); the others reuse it (every later start). Used by
// bench/startup.ts (npm run bench:startup) and by the main bench (idle_rss_mb in its summary).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface IdleStart {
  readyMs: number;
  /** VmRSS of the server process (all its threads), MB. */
  rssMb: number;
  /** Its anonymous part (heaps, stacks, malloc) and its file-backed part (mostly the node binary). */
  rssAnonMb: number;
  rssFileMb: number;
  /** Whether the compile cache was empty at this start. */
  coldCache: boolean;
}

export interface IdleMemory {
  workers: number;
  runs: IdleStart[];
  /** Medians over the starts with a warm compile cache (the first start's when there is only one). */
  readyMsP50: number;
  rssMbP50: number;
  rssAnonMbP50: number;
  rssFileMbP50: number;
  /** The first start (empty compile cache). */
  firstStartRssMb: number;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function statusMb(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

async function oneStart(workers: number, compileCache: string, settleMs: number): Promise<IdleStart> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bbmeet-idle-'));
  const port = await freePort();
  const coldCache = readdirCount(compileCache) === 0;
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/bbmeet.mjs', 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      APP_PORT: String(port),
      APP_HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      MEDIA_WORKERS: String(workers),
      NODE_COMPILE_CACHE: compileCache,
    },
    stdio: 'ignore',
  });
  try {
    let readyMs = Number.NaN;
    while (performance.now() - started < 30_000 && child.exitCode === null) {
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
    if (Number.isNaN(readyMs))
      throw new Error(`bbmeet start was not ready within 30 s (exit ${child.exitCode})`);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const mb = statusMb(child.pid!);
    return { readyMs, rssMb: mb.rss, rssAnonMb: mb.anon, rssFileMb: mb.file, coldCache };
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

function readdirCount(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `runs` starts of `bbmeet start` with `workers` media workers (default: one per core), each
 * measured `settleMs` after it answered /readyz; `onRun` hears each start as it ends.
 */
export async function measureIdleMemory(options: {
  runs: number;
  settleMs: number;
  workers?: number;
  onRun?: (run: IdleStart, index: number) => void;
}): Promise<IdleMemory> {
  const workers = options.workers ?? os.availableParallelism();
  const compileCache = await mkdtemp(path.join(os.tmpdir(), 'bbmeet-compile-cache-'));
  const runs: IdleStart[] = [];
  try {
    for (let i = 0; i < options.runs; i++) {
      const run = await oneStart(workers, compileCache, options.settleMs);
      runs.push(run);
      options.onRun?.(run, i);
    }
  } finally {
    await rm(compileCache, { recursive: true, force: true });
  }
  const warm = runs.filter((r) => !r.coldCache);
  const counted = warm.length > 0 ? warm : runs;
  return {
    workers,
    runs,
    readyMsP50: median(counted.map((r) => r.readyMs)),
    rssMbP50: median(counted.map((r) => r.rssMb)),
    rssAnonMbP50: median(counted.map((r) => r.rssAnonMb)),
    rssFileMbP50: median(counted.map((r) => r.rssFileMb)),
    firstStartRssMb: runs[0]!.rssMb,
  };
}
