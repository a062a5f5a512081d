import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UNCAUGHT_EXCEPTION_MESSAGE, UNHANDLED_REJECTION_MESSAGE } from '../../src/lib/process-faults.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { API_KEY, freeUdpPort, JWT_SECRET, REFRESH_SECRET } from '../support/server.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/bbmeet.mjs');
const READY_TIMEOUT_MS = 60_000;

/** One log line of a role process (pino JSON). */
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A `bbmeet <role>` child process started as a user would (`node bin/bbmeet.mjs <role>` with its
 * environment), its JSON log lines kept for the test to read.
 */
export class RoleProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;
  #stderr = '';
  #waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  constructor(name: string, role: 'sfu' | 'signalling' | 'start', env: Record<string, string>) {
    this.name = name;
    this.child = spawn(process.execPath, [BIN, role], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#onLine(line);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
  }

  /** The last 4000 characters of its standard error, and its last log lines: for failure messages. */
  get tail(): string {
    const last = this.logs.slice(-5).map((l) => JSON.stringify(l));
    return `stderr: ${this.#stderr || '(empty)'}; last log lines: ${last.join(' | ')}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The first log line (already seen or to come) that matches. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs = READY_TIMEOUT_MS): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: no matching log line in ${timeoutMs} ms; stderr: ${this.#stderr}`));
      }, timeoutMs);
      const done = (line: LogLine) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.#waiters.push({ match, resolve: done });
      this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before the log line came; stderr: ${this.#stderr}`));
      });
    });
  }

  /** Log lines of unhandled rejections and uncaught exceptions (src/lib/process-faults.ts). */
  faults(): LogLine[] {
    return this.logs.filter(
      (l) => l.msg === UNHANDLED_REJECTION_MESSAGE || l.msg === UNCAUGHT_EXCEPTION_MESSAGE,
    );
  }

  /** Ends the process (SIGKILL: as a crash) and waits for it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  #onLine(line: string): void {
    if (!line.trim()) return;
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return;
    }
    this.logs.push(parsed);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(parsed)) {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        waiter.resolve(parsed);
      }
    }
  }
}

export interface TestCluster {
  redis: TestRedis;
  /** Started only when there are signalling instances. */
  postgres: TestPostgres | undefined;
  databaseUrl: string | undefined;
  sfus: Array<{ process: RoleProcess; nodeId: string; sfuPort: number; udpPort: number }>;
  signallings: Array<{ process: RoleProcess; url: string; port: number }>;
  /** Starts one more SFU node (e.g. to replace a killed one). */
  addSfu(nodeId: string): Promise<{ process: RoleProcess; nodeId: string; sfuPort: number; udpPort: number }>;
  stop(): Promise<void>;
}

export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * Real Redis, real PostgreSQL (when there are signalling instances), `sfuCount` `bbmeet sfu` processes and `signallingCount`
 * `bbmeet signalling` processes on loopback, each on its own ports. `stop()` ends every process it
 * started, by PID.
 */
export async function startCluster(options: {
  sfuCount: number;
  signallingCount: number;
  env?: Record<string, string>;
  /** Extra variables of one SFU node (e.g. its egress port and directory), also for nodes added later. */
  sfuEnv?: (node: { nodeId: string; dataDir: string }) => Promise<Record<string, string>>;
}): Promise<TestCluster> {
  const processes: RoleProcess[] = [];
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-cluster-'));
  let redis: TestRedis | undefined;
  let postgres: TestPostgres | undefined;
  const stop = async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await redis?.stop();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
    // Every unhandled rejection is a bug the process survived: the test that caused it fails.
    const faults = processes.flatMap((p) => p.faults().map((l) => `${p.name}: ${JSON.stringify(l)}`));
    if (faults.length > 0) throw new Error(`role processes logged process faults:\n${faults.join('\n')}`);
  };
  try {
    redis = await startRedis();
    postgres = options.signallingCount > 0 ? await startPostgres() : undefined;
    const databaseUrl = await postgres?.createDatabase('cluster');
    const common = {
      REDIS_URL: redis.url,
      CLIENT_SECRET_KEY: API_KEY,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_REFRESH_SECRET: REFRESH_SECRET,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      // IPv4 only unless a test asks (as test/support/server.ts).
      ICE_IPV6_ENABLED: 'false',
      ...options.env,
    };
    const addSfu = async (nodeId: string) => {
      const sfuPort = await freeTcpPort();
      const udpPort = await freeUdpPort();
      const proc = new RoleProcess(nodeId, 'sfu', {
        ...common,
        NODE_ID: nodeId,
        SFU_PORT: String(sfuPort),
        SFU_HOST: '127.0.0.1',
        MEDIA_WORKERS: '1',
        PORT_MIN_UDP: String(udpPort),
        PORT_MAX_UDP: String(udpPort),
        ...(await options.sfuEnv?.({ nodeId, dataDir })),
      });
      processes.push(proc);
      await proc.waitForLog((l) => l.msg === 'bbmeet sfu ready');
      return { process: proc, nodeId, sfuPort, udpPort };
    };
    const sfus = [];
    for (let i = 0; i < options.sfuCount; i++) sfus.push(await addSfu(`sfu-${String.fromCharCode(97 + i)}`));
    const signallings = [];
    // One after the other: the first one creates the database schema.
    for (let i = 0; i < options.signallingCount; i++) {
      const port = await freeTcpPort();
      const proc = new RoleProcess(`signalling-${i + 1}`, 'signalling', {
        ...common,
        NODE_ID: `signalling-${i + 1}`,
        DATABASE_URL: databaseUrl ?? '',
        APP_HOST: '127.0.0.1',
        APP_PORT: String(port),
      });
      processes.push(proc);
      await proc.waitForLog((l) => l.msg.startsWith('bbmeet signalling ready'));
      signallings.push({ process: proc, url: `http://127.0.0.1:${port}`, port });
    }
    return { redis, postgres, databaseUrl, sfus, signallings, addSfu, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A TCP proxy standing for the load balancer in front of the signalling instances: it forwards new
 * connections to `target` (a port on 127.0.0.1), which the test may change, as a load balancer
 * does when an instance dies.
 */
export async function startSwitchableProxy(target: number): Promise<{
  url: string;
  target: number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const state = { target };
  const server = createServer((client) => {
    const upstream = createConnection(state.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get target() {
      return state.target;
    },
    set target(value: number) {
      state.target = value;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
