// Child processes of the bench: the server under test (`bbmeet start`), the baselines and the load
// generators, optionally pinned to a core with taskset; CPU and memory read from the OS
// accounting of each process (/proc/<pid>/stat utime + stime, /proc/<pid>/status VmRSS).
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, freeUdpPort, freeUdpPorts } from './free-ports.ts';
import { removeOnStop, stoppingFor } from './interrupt.ts';
import { type CoreSplit, splitCores } from './multicore-plan.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Whether taskset can pin the bench's processes. */
export const tasksetAvailable = hasTaskset;

/** Cores for the server and for the load (the same when the machine has one core or no taskset). */
export function corePlan(): CoreSplit {
  return splitCores(os.availableParallelism(), hasTaskset);
}

/** Seconds of CPU (user + system, all threads) the process has used; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Every thread of process `pid`: its name and nice value (/proc/<pid>/task); empty once it is gone. */
export function processThreads(pid: number): Array<{ name: string; nice: number }> {
  try {
    return readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return {
        name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
        // Fields after the command name (which may hold spaces): nice is field 19.
        nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]),
      };
    });
  } catch {
    return [];
  }
}

/**
 * The nice value of the server's media worker threads (named media-<index>), the lowest if they
 * differ; undefined without any or off Linux.
 */
export function workerThreadsNice(pid: number): number | undefined {
  const media = processThreads(pid).filter((t) => /^media-\d+$/.test(t.name) && Number.isInteger(t.nice));
  return media.length ? Math.min(...media.map((t) => t.nice)) : undefined;
}

/** Resident memory in bytes, or undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The kernel's UDP counters (/proc/net/snmp, whole machine): datagrams dropped for a full receive
 * or send buffer. Undefined off Linux.
 */
export function udpDrops(): { rcvbuf: number; sndbuf: number } | undefined {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/).map(Number);
    const get = (n: string) => values[names.indexOf(n)] ?? 0;
    return { rcvbuf: get('RcvbufErrors'), sndbuf: get('SndbufErrors') };
  } catch {
    return undefined;
  }
}

/** Datagrams the kernel dropped at the UDP socket(s) bound to `port` (/proc/net/udp `drops`). */
export function udpSocketDrops(port: number): number | undefined {
  try {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    let drops = 0;
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(hex)) drops += Number(f[f.length - 1]) || 0;
    }
    return drops;
  } catch {
    return undefined;
  }
}

export { freeTcpPort, freeUdpPort, freeUdpPorts } from './free-ports.ts';

/** Refuses to start a process once the bench is stopping for a signal (bench/interrupt.ts). */
function notStopping(): void {
  const sig = stoppingFor();
  if (sig) throw new Error(`the bench is stopping (${sig}): no new process`);
}

/** Spawns `node <args>` (the project's Node), under taskset when `cores` is given. */
function spawnNode(
  args: string[],
  options: { cores: string; env?: NodeJS.ProcessEnv; ipc?: boolean },
): ChildProcess {
  notStopping();
  const stdio: Array<'ignore' | 'pipe' | 'inherit' | 'ipc'> = ['ignore', 'pipe', 'pipe'];
  if (options.ipc) stdio.push('ipc');
  if (options.cores)
    return spawn('taskset', ['-c', options.cores, process.execPath, ...args], {
      stdio,
      env: options.env ?? process.env,
      cwd: ROOT,
    });
  return spawn(process.execPath, args, { stdio, env: options.env ?? process.env, cwd: ROOT });
}

/** Stops a child by its PID and waits for it to exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ServerUnderTest {
  pid: number;
  baseUrl: string;
  apiKey: string;
  mediaPort: number;
  /** Every media worker's UDP port (worker i on mediaPort + i). */
  mediaPorts: number[];
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `bbmeet start` as a child process on loopback with free ports, one media worker, limits raised
 * for load (rate limits are per IP and every load peer is 127.0.0.1), its own data directory.
 * `profileDir`: run with --cpu-prof into that directory.
 */
export async function startServer(options: {
  cores: string;
  profileDir?: string | undefined;
  /** More environment for the server (the egress scenario turns egress on). */
  env?: Record<string, string>;
  /** Media workers (MEDIA_WORKERS), each on its own UDP port; default 1. */
  workers?: number;
}): Promise<ServerUnderTest> {
  const workers = options.workers ?? 1;
  const httpPort = await freeTcpPort();
  const mediaPort = workers > 1 ? await freeUdpPorts(workers) : await freeUdpPort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bbmeet-bench-'));
  const kept = removeOnStop(dataDir);
  const apiKey = randomBytes(12).toString('hex');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_PORT: String(httpPort),
    APP_HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    CLIENT_SECRET_KEY: apiKey,
    AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
    AUTH_REFRESH_SECRET: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    MEDIA_WORKERS: String(workers),
    PORT_MIN_UDP: String(mediaPort),
    PORT_MAX_UDP: String(mediaPort + workers - 1),
    HTTP_RATE_LIMIT_PER_SECOND: '1000000',
    SOCKET_CONNECTIONS_PER_IP: '100000',
    SOCKET_CONNECTIONS_PER_USER: '100000',
    SOCKET_UNAUTHENTICATED_PER_IP: '100000',
    SOCKET_EVENTS_PER_SECOND: '10000',
    SOCKET_EVENTS_BURST: '100000',
    GUEST_LOGIN_ENABLED: 'false',
    ...options.env,
  };
  const nodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = spawnNode([...nodeArgs, 'bin/bbmeet.mjs', 'start'], { cores: options.cores, env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.stdout!.resume();
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`server did not become healthy: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    baseUrl,
    apiKey,
    mediaPort,
    mediaPorts: Array.from({ length: workers }, (_, i) => mediaPort + i),
    child,
    async stop() {
      await stopChild(child);
      await rm(dataDir, { recursive: true, force: true });
      kept();
    },
  };
}

/** A bench module run as a child (a baseline forwarder); resolves once it printed its first line. */
export async function startHelper(
  script: string,
  options: { cores: string; args?: string[] },
): Promise<{ child: ChildProcess; pid: number; firstLine: string }> {
  const child = spawnNode([path.join(ROOT, 'bench', script), ...(options.args ?? [])], {
    cores: options.cores,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) resolve(out.slice(0, i).trim());
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}): ${stderr}`)));
  });
  return { child, pid: child.pid!, firstLine };
}

/** A load generator process (bench/load-process.ts) with an IPC channel. */
export function forkLoad(cores: string): ChildProcess {
  notStopping();
  const script = path.join(ROOT, 'bench', 'load-process.ts');
  if (cores)
    return spawn('taskset', ['-c', cores, process.execPath, script], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: ROOT,
    });
  return fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: ROOT });
}
