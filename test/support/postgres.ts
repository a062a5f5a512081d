import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { stopChild } from './child-process.ts';

/**
 * A real PostgreSQL server for tests: a fresh cluster in a temporary directory, listening on
 * 127.0.0.1 and a free port. PostgreSQL refuses to run as root, so when the tests run as root
 * (CI) the server runs as the `postgres` OS user. `stop()` ends only the server it started, by
 * its PID, and removes the directory.
 */
export interface TestPostgres {
  url: string;
  /** A new empty database on the same server, for test isolation; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Stops the server (fast shutdown: open sessions are terminated), waits `downMs`, then starts it
   * again on the same data directory and port; resolves once it accepts connections. Every row
   * committed before stays.
   */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 25;
const STOP_TIMEOUT_MS = 5_000;
const STDERR_KEPT_CHARS = 4_000;
const SETUP_HINT = "run the project's test setup (`bash scripts/test-all.sh` installs Debian's postgresql)";

const execFileAsync = promisify(execFile);

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findBinDir();
  const owner = serverOwner();
  const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-pg-'));
  try {
    if (owner) await chown(dir, owner.uid, owner.gid);
    const dataDir = path.join(dir, 'data');
    await initCluster(bin, dataDir, owner);
    const port = await freePort();
    const start = () => startServer(bin, dataDir, dir, port, owner);
    const server = start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitReady(url, server);
    return handle({ url, port, server, dir, start });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The OS user to run PostgreSQL as: `postgres` when we are root, else ourselves (undefined). */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`running as root needs the \`postgres\` OS user to run PostgreSQL: ${SETUP_HINT}`);
  }
}

function findBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: 'pipe' }).trim());
  } catch {
    // pg_config may be missing, or belong to the client package only (no initdb beside it).
  }
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  }
  const found = candidates.find(
    (dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')),
  );
  if (!found) throw new Error(`PostgreSQL server binaries (initdb, postgres) not found: ${SETUP_HINT}`);
  return found;
}

async function initCluster(bin: string, dataDir: string, owner: { uid: number; gid: number } | undefined) {
  const args = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--locale=C', '-E', 'UTF8', '--no-sync'];
  try {
    await execFileAsync(path.join(bin, 'initdb'), args, { ...owner, encoding: 'utf8' });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`initdb failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/** Asks the OS for a free port (bind port 0). Another process could take it before postgres does. */
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

interface Server {
  child: ChildProcess;
  stderr(): string;
}

function startServer(
  bin: string,
  dataDir: string,
  socketDir: string,
  port: number,
  owner: { uid: number; gid: number } | undefined,
): Server {
  const settings = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
  const args = ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', socketDir];
  // Spawned directly with uid/gid (not through runuser/su): the child *is* the postmaster, so
  // stop() signals the server itself, and SIGINT means PostgreSQL's fast shutdown.
  const child = spawn(path.join(bin, 'postgres'), [...args, ...settings.flatMap((s) => ['-c', s])], {
    ...owner,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-STDERR_KEPT_CHARS);
  });
  return { child, stderr: () => log };
}

async function waitReady(url: string, server: Server): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `postgres exited (${server.child.exitCode ?? server.child.signalCode}): ${server.stderr()}`,
      );
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      lastError = err;
      await client.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }
  await stopServer(server.child);
  throw new Error(`postgres did not accept connections: ${String(lastError)}\n${server.stderr()}`);
}

function handle(started: {
  url: string;
  port: number;
  server: Server;
  dir: string;
  start: () => Server;
}): TestPostgres {
  const { url, port, dir } = started;
  let server = started.server;
  // If the test process exits without stop() (a crash, process.exit), do not leave a server behind.
  const onExit = () => {
    if (server.child.exitCode === null) server.child.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let databases = 0;
  return {
    url,
    async createDatabase(name: string) {
      const db = `${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async restart(options = {}) {
      await stopServer(server.child);
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      server = started.start();
      await waitReady(url, server);
    },
    async stop() {
      process.removeListener('exit', onExit);
      await stopServer(server.child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** SIGINT (fast shutdown: aborts open sessions), then SIGKILL if it has not exited in time. */
function stopServer(child: ChildProcess): Promise<void> {
  return stopChild(child, { signal: 'SIGINT', timeoutMs: STOP_TIMEOUT_MS });
}
