// The container image's pieces that run without a container runtime (the image build itself is not
// part of the test suite: `npm run image`): the entry point execs bbmeet with the right role, the
// health check reads /readyz (or the SFU's gRPC port), and the Containerfile keeps its promises.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../support/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRYPOINT = path.join(ROOT, 'deploy/container/entrypoint.sh');
const HEALTHCHECK = path.join(ROOT, 'deploy/container/healthcheck.mjs');
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  pid: number | undefined;
}

/** Runs the entry point with `args`; resolves with its exit code, output and process id. */
function entrypoint(args: string[], env: Record<string, string>): Promise<Outcome> {
  const child = spawn(ENTRYPOINT, args, { env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr, pid: child.pid }));
  });
}

describe('container entry point', () => {
  let dir: string;
  let stubNode: string;
  const home = '/opt/bbmeet-home';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-entrypoint-'));
    // Stands in for Node: prints its process id and arguments, one a line.
    stubNode = path.join(dir, 'node');
    await writeFile(stubNode, '#!/bin/sh\necho "pid $$"\nfor arg in "$@"; do echo "$arg"; done\n');
    await chmod(stubNode, 0o755);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function execed(args: string[]): Promise<string[]> {
    const outcome = await entrypoint(args, { BBMEET_HOME: home, BBMEET_NODE: stubNode });
    assert.equal(outcome.code, 0, outcome.stderr);
    const [pidLine, ...argv] = outcome.stdout.trimEnd().split('\n');
    // The same process: the entry point replaced itself (exec), so signals reach the server.
    assert.equal(pidLine, `pid ${outcome.pid}`);
    return argv;
  }

  for (const role of ['start', 'signalling', 'sfu']) {
    it(`entrypoint ${role} execs bbmeet ${role} with the project's Node`, async () => {
      assert.deepEqual(await execed([role, '--env-file', '/etc/bbmeet.env']), [
        `${home}/bin/bbmeet.mjs`,
        role,
        '--env-file',
        '/etc/bbmeet.env',
      ]);
    });
  }

  it('entrypoint without arguments runs bbmeet start', async () => {
    assert.deepEqual(await execed([]), [`${home}/bin/bbmeet.mjs`, 'start']);
  });

  it('entrypoint with options only passes them to bbmeet start', async () => {
    assert.deepEqual(await execed(['--port', '6000']), [`${home}/bin/bbmeet.mjs`, 'start', '--port', '6000']);
  });

  it('entrypoint passes the other bbmeet commands through', async () => {
    assert.deepEqual(await execed(['token', '--help']), [`${home}/bin/bbmeet.mjs`, 'token', '--help']);
  });

  it('entrypoint refuses an unknown role with exit 64 and names the roles', async () => {
    const outcome = await entrypoint(['sfu-node'], { BBMEET_HOME: home, BBMEET_NODE: stubNode });
    assert.equal(outcome.code, 64);
    assert.equal(outcome.stdout, '', 'nothing was started');
    assert.match(outcome.stderr, /unknown role 'sfu-node'/);
    assert.match(outcome.stderr, /start \(the default\), signalling or sfu/);
  });

  it('entrypoint runs the real bbmeet from BBMEET_HOME', async () => {
    const env = { BBMEET_HOME: ROOT, BBMEET_NODE: process.execPath };
    const version = await entrypoint(['--version'], env);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const help = await entrypoint(['sfu', '--help'], env);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^bbmeet sfu: cluster role/);
  });
});

describe('container health check', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  async function healthcheck(args: string[], env: Record<string, string>) {
    return run(process.execPath, [HEALTHCHECK, ...args], {
      env: { ...env, PATH: process.env.PATH ?? '' },
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
    );
  }

  it('healthcheck of bbmeet start is healthy when /readyz answers 200', async () => {
    const result = await healthcheck(['start'], { APP_PORT: String(server.port), APP_HOST: '0.0.0.0' });
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /^healthy: http:\/\/127\.0\.0\.1:\d+\/readyz 200 \{"status":"ready"\}/);
  });

  it('healthcheck follows a --port option of the server', async () => {
    const result = await healthcheck(['signalling', '--port', String(server.port)], { APP_PORT: '1' });
    assert.equal(result.code, 0, result.stdout);
  });

  it('healthcheck is unhealthy (exit 1) when nothing answers on APP_PORT', async () => {
    const closed = await closedPort();
    const result = await healthcheck(['start'], { APP_PORT: String(closed) });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^unhealthy: /);
  });

  it('healthcheck of bbmeet sfu checks that SFU_PORT accepts connections', async () => {
    const grpc = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => grpc.listen(0, '127.0.0.1', resolve));
    const port = (grpc.address() as net.AddressInfo).port;
    try {
      const up = await healthcheck(['sfu'], { SFU_PORT: String(port), SFU_HOST: '0.0.0.0' });
      assert.equal(up.code, 0, up.stdout);
      assert.match(up.stdout, /^healthy: gRPC 127\.0\.0\.1:\d+ accepts connections/);
    } finally {
      await new Promise((resolve) => grpc.close(resolve));
    }
    const down = await healthcheck(['sfu'], { SFU_PORT: String(port) });
    assert.equal(down.code, 1, down.stdout);
  });
});

/** A port nothing listens on (bound, read, then closed). */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** The Containerfile's stages, continuation lines joined. */
function stages(): Stage[] {
  const text = readFileSync(path.join(ROOT, 'Containerfile'), 'utf8').replace(/\\\n/g, ' ');
  const result: Stage[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) result.push({ from: from[1]!, name: from[2] ?? '', lines: [] });
    else result.at(-1)?.lines.push(line.trim());
  }
  return result;
}

/** The stages `name` is built from (its FROM chain and COPY --from), itself included. */
function closure(all: Stage[], name: string, seen = new Set<string>()): Set<string> {
  const stage = all.find((s) => s.name === name);
  if (!stage || seen.has(name)) return seen;
  seen.add(name);
  closure(all, stage.from, seen);
  for (const line of stage.lines) {
    const from = /--from=(\S+)/.exec(line);
    if (from) closure(all, from[1]!, seen);
  }
  return seen;
}

/** Whether .containerignore leaves `file` in the build context (the last matching pattern wins). */
function inContext(file: string): boolean {
  const patterns = readFileSync(path.join(ROOT, '.containerignore'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  let included = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/\/$/, '');
    const parts = file.split('/');
    // A pattern naming a directory covers everything under it.
    const matches = parts.some((_, i) => path.matchesGlob(parts.slice(0, i + 1).join('/'), glob));
    if (matches) included = negated;
  }
  return included;
}

describe('Containerfile', () => {
  const all = stages();
  const byName = (name: string) => all.find((s) => s.name === name)!;

  it('the default target (last stage) is runtime and its stages carry no egress dependency', () => {
    assert.equal(all.at(-1)?.name, 'runtime');
    const used = closure(all, 'runtime');
    assert.deepEqual([...used].sort(), ['app', 'build', 'runtime']);
    for (const name of used) {
      const text = byName(name).lines.join('\n');
      assert.doesNotMatch(text, /packages\/egress|ffmpeg/, `stage ${name}`);
      assert.doesNotMatch(byName(name).from, /egress/i, `stage ${name}`);
    }
  });

  it('every base is a local image named by an ARG or an earlier stage: nothing is pulled', () => {
    const names = new Set<string>();
    for (const stage of all) {
      assert.ok(/^\$\{[A-Z_]+_BASE\}$/.test(stage.from) || names.has(stage.from), `FROM ${stage.from}`);
      names.add(stage.name);
    }
    const text = readFileSync(path.join(ROOT, 'Containerfile'), 'utf8');
    for (const arg of text.matchAll(/^ARG \w+_BASE=(\S+)$/gm)) assert.match(arg[1]!, /^localhost\//);
  });

  it("the build stage's Node release is the one package.json's node dependency installs", () => {
    const text = readFileSync(path.join(ROOT, 'Containerfile'), 'utf8');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(/^ARG NODE_VERSION=(\S+)$/m.exec(text)?.[1], pkg.dependencies.node);
  });

  it('the images run as a non-root user with a health check and the entry point', () => {
    for (const name of ['app', 'egress']) {
      const lines = byName(name).lines;
      const user = lines.find((line) => line.startsWith('USER '));
      assert.ok(user && !/^USER\s+(root|0)\b/.test(user), `stage ${name}: ${user}`);
      const health = lines.find((line) => line.startsWith('HEALTHCHECK '));
      assert.match(health ?? '', /deploy\/container\/healthcheck\.mjs/, `stage ${name}`);
      assert.ok(lines.includes('ENTRYPOINT ["/app/deploy/container/entrypoint.sh"]'), `stage ${name}`);
    }
    accessSync(ENTRYPOINT, constants.X_OK);
  });

  it('every file copied from the build context exists and is in it', () => {
    const sources = all.flatMap((stage) =>
      stage.lines
        .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
        .flatMap((line) => line.split(/\s+/).slice(1, -1)),
    );
    assert.ok(sources.length > 5);
    for (const source of sources) {
      const file = source.replace(/\/$/, '');
      assert.ok(existsSync(path.join(ROOT, file)), `${file} exists`);
      assert.ok(inContext(file), `${file} is in the build context`);
    }
    assert.equal(inContext('node_modules/node/bin/node'), false);
    assert.equal(inContext('packages/egress/node_modules/ws/index.js'), false);
    assert.equal(inContext('src/config.test.ts'), false);
    assert.equal(inContext('src/config.ts'), true);
  });
});
