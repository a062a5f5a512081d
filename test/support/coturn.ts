import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateDtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { stopChild } from './child-process.ts';

/**
 * Debian's coturn for tests: `turnserver` on 127.0.0.1 (UDP and TCP on one free port; with `tls`,
 * TLS on another, with a self-signed certificate made for the run; never DTLS), checking
 * credentials by the TURN REST API scheme with `secret`, relaying from 127.0.0.1 to loopback peers
 * (our SFU's host candidates). `stop()` ends only the process it started, by PID.
 */
export interface TestCoturn {
  port: number;
  realm: string;
  /** The URLs clients use: UDP and TCP to the same listener; TLS when started with `tls`. */
  urls: { udp: string; tcp: string; tls?: string };
  /** What the server printed (kept for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const SETUP_HINT = "run the project's test setup (`bash scripts/test-all.sh` installs Debian's coturn)";

export async function startCoturn(secret: string, options: { tls?: boolean } = {}): Promise<TestCoturn> {
  const port = await freeUdpAndTcpPort();
  const tls = options.tls ? await tlsSetup() : undefined;
  const realm = 'bbmeet.test';
  const args = [
    ...['--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1', '--listening-port', String(port)],
    ...['--use-auth-secret', `--static-auth-secret=${secret}`, '--realm', realm],
    ...(tls
      ? ['--tls-listening-port', String(tls.port), '--cert', tls.cert, '--pkey', tls.key]
      : ['--no-tls']),
    ...['--no-dtls', '--allow-loopback-peers', '--no-cli', '--no-software-attribute'],
    // Logs to stdout only (no log file, no pid file under /var).
    ...['--log-file', 'stdout', '--simple-log', '--pidfile', '/dev/null'],
  ];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    await stopChild(child);
    if (tls) await rm(tls.dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, port, () => log);
    if (tls) await waitReady(child, tls.port, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    realm,
    urls: {
      udp: `turn:127.0.0.1:${port}?transport=udp`,
      tcp: `turn:127.0.0.1:${port}?transport=tcp`,
      ...(tls && { tls: `turns:127.0.0.1:${tls.port}?transport=tcp` }),
    },
    log: () => log,
    stop,
  };
}

/**
 * A self-signed certificate and key for coturn's TLS listener, in a directory of their own, and a
 * free TCP port for it. Clients must be told to accept it (Chromium: --ignore-certificate-errors).
 */
async function tlsSetup(): Promise<{ port: number; cert: string; key: string; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-coturn-tls-'));
  const { certPem, keyPem } = await generateDtlsCertificate();
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await writeFile(cert, certPem);
  await writeFile(key, keyPem, { mode: 0o600 });
  return { port: await freeUdpAndTcpPort(), cert, key, dir };
}

async function waitReady(child: ChildProcess, port: number, log: () => string): Promise<void> {
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`turnserver could not start (${err.message}): ${SETUP_HINT}`, { cause: err })),
    );
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`turnserver exited (${child.exitCode}): ${log()}`);
    if (await Promise.race([tcpAccepts(port), spawnError])) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`turnserver did not listen on port ${port}: ${log()}`);
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

/** A port free for both TCP and UDP on 127.0.0.1 a moment ago (coturn listens on both). */
async function freeUdpAndTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', resolve);
    });
    const { port } = srv.address() as { port: number };
    const udp = dgram.createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    try {
      udp.close();
    } catch {
      // The failed bind closed it already.
    }
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    if (udpFree) return port;
  }
  throw new Error('no port free for both TCP and UDP on 127.0.0.1');
}
