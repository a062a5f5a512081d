import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeUdpPort } from '../support/server.ts';

const BIN = path.resolve('bin/bbmeet.mjs');

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('bbmeet CLI', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-cli-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('--help lists the commands; each command has its own --help', async () => {
    const main = run(['--help']);
    assert.equal(await main.exited, 0);
    for (const cmd of ['start', 'signalling', 'sfu']) assert.match(main.out(), new RegExp(`\\n  ${cmd} `));
    const start = run(['start', '--help']);
    assert.equal(await start.exited, 0);
    assert.match(start.out(), /DATABASE_URL/);
  });

  it('an unknown command prints the help and fails', async () => {
    const r = run(['frobnicate']);
    assert.equal(await r.exited, 2);
    assert.match(r.out(), /Commands:/);
  });

  it('cluster roles refuse to start without REDIS_URL, DATABASE_URL and explicit secrets, naming each', async () => {
    const sfu = run(['sfu'], { DATA_DIR: dataDir });
    assert.equal(await sfu.exited, 1);
    assert.match(sfu.err(), /REDIS_URL: required/);
    assert.match(sfu.err(), /AUTH_JWT_SECRET: required/);
    assert.doesNotMatch(sfu.err(), /DATABASE_URL/);
    const signalling = run(['signalling'], { DATA_DIR: dataDir, REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(await signalling.exited, 1);
    assert.match(signalling.err(), /DATABASE_URL: required/);
    assert.doesNotMatch(signalling.err(), /REDIS_URL/);
  });

  it('a bad variable stops the server with a message naming it', async () => {
    const r = run(['start'], {
      DATA_DIR: dataDir,
      APP_PORT: 'eighty',
      PORT_MIN_UDP: '20000',
      PORT_MAX_UDP: '10000',
    });
    assert.equal(await r.exited, 1);
    assert.match(r.err(), /APP_PORT: expected a port number/);
    assert.match(r.err(), /\.env\.example/);
    const r2 = run(['start'], { DATA_DIR: dataDir, PORT_MIN_UDP: '20000', PORT_MAX_UDP: '10000' });
    assert.equal(await r2.exited, 1);
    assert.match(r2.err(), /PORT_MIN_UDP must not be greater than PORT_MAX_UDP/);
  });

  it('start serves health, readiness and metrics, generates secrets once, and stops on SIGTERM', async () => {
    const port = await freePort();
    const udp = String(await freeUdpPort());
    const r = run(['start', '--port', String(port)], {
      DATA_DIR: dataDir,
      LOG_FORMAT: 'json',
      APP_HOST: '127.0.0.1',
      PORT_MIN_UDP: udp,
      PORT_MAX_UDP: udp,
    });
    const deadline = Date.now() + 20_000;
    while (!r.out().includes('bbmeet ready') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(r.out(), /bbmeet ready/, r.err());
    assert.match(r.out(), /CLIENT_SECRET_KEY is not set/);
    const base = `http://127.0.0.1:${port}`;
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
    assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'ready' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /bbmeet_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/);
    assert.match(metrics, /bbmeet_socket_connections 0/);
    const secrets = JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
    const health = await fetch(`${base}/busapi/v3/health-check`, {
      headers: { 'x-api-key': secrets.apiKey! },
    });
    assert.equal(health.status, 200);
    assert.ok(existsSync(path.join(dataDir, 'bbmeet.sqlite')));
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
  });
  it('start and sfu --help describe --egress; the other commands refuse it', async () => {
    for (const cmd of ['start', 'sfu']) {
      const r = run([cmd, '--help']);
      assert.equal(await r.exited, 0);
      assert.match(r.out(), /--egress +turn egress on/);
      assert.match(r.out(), /npm run setup:egress/);
    }
    const signalling = run(['signalling', '--egress'], { DATA_DIR: dataDir });
    assert.equal(await signalling.exited, 2);
    assert.match(signalling.err(), /--egress applies to bbmeet start and bbmeet sfu only/);
  });

  it('start --egress without the egress install prints exactly what to run and exits 1', async () => {
    // The real package.json without its node_modules, and a PATH without ffmpeg: a fresh core install.
    const packageDir = path.join(dataDir, 'egress-package');
    const emptyBin = path.join(dataDir, 'empty-bin');
    await mkdir(emptyBin, { recursive: true });
    await mkdir(packageDir, { recursive: true });
    await copyFile('packages/egress/package.json', path.join(packageDir, 'package.json'));
    const dependencies = Object.keys(
      JSON.parse(await readFile('packages/egress/package.json', 'utf8')).dependencies,
    );
    const expected = [
      'egress is enabled (EGRESS_ENABLED=true or --egress) but not installed:',
      `  - npm packages not installed in ${path.join(packageDir, 'node_modules')}: ${dependencies.join(', ')}`,
      '  - not found on PATH: ffmpeg, ffprobe',
      'Run, from the repository root:',
      "  apt-get install -y --no-install-recommends ffmpeg   # as root: Debian's ffmpeg and ffprobe",
      '  npm run setup:egress',
      'or start without egress (EGRESS_ENABLED=false).',
    ].join('\n');
    const env = { DATA_DIR: dataDir, EGRESS_PACKAGE_DIR: packageDir, PATH: emptyBin, LOG_FORMAT: 'json' };
    const start = run(['start', '--egress', '--port', String(await freePort())], env);
    assert.equal(await start.exited, 1);
    assert.ok(start.err().includes(`bbmeet start: ${expected}\n`), start.err());
    assert.match(start.out(), /"msg":"egress enabled but not installed"/);
    assert.doesNotMatch(start.out(), /bbmeet ready/);
    const sfu = run(['sfu'], {
      ...env,
      EGRESS_ENABLED: 'true',
      REDIS_URL: 'redis://127.0.0.1:1',
      CLIENT_SECRET_KEY: 'k',
      AUTH_JWT_SECRET: 'a-jwt-secret-of-16+',
      AUTH_REFRESH_SECRET: 'a-refresh-secret-16+',
    });
    assert.equal(await sfu.exited, 1);
    assert.ok(sfu.err().includes(`bbmeet sfu: ${expected}\n`), sfu.err());
  });
});
