// HEALTHCHECK of the BBMEET container image: exits 0 when the role running in the container is ready.
//   bbmeet start, bbmeet signalling: GET /readyz on APP_PORT answers 200 (database, Redis and the
//   media engine reachable; 503 names what is not).
//   bbmeet sfu serves no HTTP: its gRPC port (SFU_PORT) accepts a TCP connection.
// The role and a --port option are read from the server's command line in /proc, so the check
// follows what the entry point started; `healthcheck.mjs <role> [--port N]` names them instead.
// Plain JavaScript, no dependency.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

const TIMEOUT_MS = 4000;

/** The arguments after bin/bbmeet.mjs of the server process, or undefined when none runs. */
function serverArgs() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // the process ended while we looked
    }
    const at = argv.findIndex((arg) => arg.endsWith('bin/bbmeet.mjs'));
    if (at >= 0) return argv.slice(at + 1).filter((arg) => arg !== '');
  }
  return undefined;
}

function option(args, name) {
  const at = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return args[at].includes('=') ? args[at].slice(name.length + 1) : args[at + 1];
}

/** The address to dial for a server listening on `host` (a wildcard is reached on loopback). */
function dialHost(host) {
  return !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

async function readyz(port) {
  const host = dialHost(process.env.APP_HOST);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/readyz`;
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await response.text();
  return { ok: response.status === 200, detail: `${url} ${response.status} ${body}` };
}

function tcpOpen(port) {
  const host = dialHost(process.env.SFU_HOST);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: TIMEOUT_MS });
    const done = (ok, why) => {
      socket.destroy();
      resolve({ ok, detail: `gRPC ${host}:${port} ${why}` });
    };
    socket.once('connect', () => done(true, 'accepts connections'));
    socket.once('timeout', () => done(false, 'timed out'));
    socket.once('error', (err) => done(false, err.message));
  });
}

async function check() {
  const args = process.argv.length > 2 ? process.argv.slice(2) : serverArgs();
  if (!args) return { ok: false, detail: 'no bbmeet process is running' };
  const role = args[0] ?? 'start';
  if (role === 'sfu') return tcpOpen(Number(process.env.SFU_PORT || 50051));
  return readyz(Number(option(args, '--port') ?? (process.env.APP_PORT || 5998)));
}

try {
  const { ok, detail } = await check();
  process.stdout.write(`${ok ? 'healthy' : 'unhealthy'}: ${detail}\n`);
  process.exitCode = ok ? 0 : 1;
} catch (err) {
  process.stdout.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
