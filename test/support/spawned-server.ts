import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const BIN = path.resolve('bin/bbmeet.mjs');
const READY_TIMEOUT_MS = 30_000;

/**
 * `bbmeet start` as a child process (the real server, on its own event loop and heap), on
 * 127.0.0.1 and a free port, media off, logging JSON at `LOG_LEVEL` (default warn). For tests that
 * measure the server from outside: latency of its health probe, its RSS, its stdout.
 */
export interface SpawnedServer {
  child: ChildProcess;
  baseUrl: string;
  port: number;
  apiKey: string;
  jwtSecret: string;
  /** Everything the server wrote to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resident set size and its high-water mark (VmRSS, VmHWM of /proc/<pid>/status), in bytes. */
  memory(): { rssBytes: number; peakRssBytes: number };
  close(): Promise<void>;
}

export async function spawnServer(env: Record<string, string> = {}): Promise<SpawnedServer> {
  const port = await freeTcpPort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-spawned-'));
  const apiKey = 'spawned-test-api-key';
  const jwtSecret = 'spawned-test-jwt-secret-0123456789';
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      APP_PORT: String(port),
      APP_HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      CLIENT_SECRET_KEY: apiKey,
      AUTH_JWT_SECRET: jwtSecret,
      AUTH_REFRESH_SECRET: 'spawned-test-refresh-secret-0123456789',
      MEDIA_ENABLED: 'false',
      // IPv4 only unless a test asks (as test/support/server.ts).
      ICE_IPV6_ENABLED: 'false',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: SpawnedServer = {
    child,
    baseUrl,
    port,
    apiKey,
    jwtSecret,
    stdout: () => out,
    stderr: () => err,
    memory: () => readMemory(child.pid!),
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  await waitHealthy(server, exited);
  return server;
}

async function waitHealthy(server: SpawnedServer, exited: Promise<void>): Promise<void> {
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!gone && Date.now() < deadline) {
    const ok = await fetch(`${server.baseUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await delay(50);
  }
  await server.close();
  throw new Error(`server did not become healthy: ${server.stderr()}\n${server.stdout().slice(-2000)}`);
}

function readMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssBytes: kib('VmRSS') * 1024, peakRssBytes: kib('VmHWM') * 1024 };
}

export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
