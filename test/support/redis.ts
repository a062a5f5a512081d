import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stopChild } from './child-process.ts';

/**
 * A real Redis server for tests: `redis-server` on 127.0.0.1 and a free port, its working
 * directory a temporary one, no persistence. `restart()` stops it and starts a fresh one on the same
 * port (every key gone, as after a crash without persistence). `stop()` ends only the server it
 * started, by its PID, and removes the directory.
 */
export interface TestRedis {
  url: string;
  port: number;
  restart(): Promise<void>;
  /** Stops the server, waits `ms`, then starts a fresh one on the same port (Redis down for a while). */
  outage(ms: number): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const SETUP_HINT = "run the project's test setup (`bash scripts/test-all.sh` installs Debian's redis-server)";

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = await startServer(dir, port);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  // If the test process exits without stop() (a crash, process.exit), do not leave a server behind.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart() {
      await stopServer(child);
      child = await startServer(dir, port);
    },
    async outage(ms: number) {
      await stopServer(child);
      await new Promise((resolve) => setTimeout(resolve, ms));
      child = await startServer(dir, port);
    },
    async stop() {
      process.removeListener('exit', onExit);
      await stopServer(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startServer(dir: string, port: number): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`redis-server could not start (${err.message}): ${SETUP_HINT}`, { cause: err })),
    );
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${log}`);
    const ready = await Promise.race([ping(port), spawnError]);
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stopServer(child);
  throw new Error(`redis-server did not answer on port ${port}: ${log}`);
}

/** True when a PING on the port gets +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function stopServer(child: ChildProcess): Promise<void> {
  return stopChild(child, { timeoutMs: STOP_TIMEOUT_MS });
}
