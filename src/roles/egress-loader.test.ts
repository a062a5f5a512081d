import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { silentLogger } from '../lib/logger.ts';
import type { CreateEgress, EgressSettings, EgressSource } from '../sfu/egress-backend.ts';
import {
  deferredEgressHttp,
  EGRESS_PACKAGE_URL,
  EgressNotInstalledError,
  loadEgress,
} from './egress-loader.ts';

const FIXTURE_DIR = path.resolve('test/fixtures/egress-package');
const FIXTURE_ENTRY = pathToFileURL(path.join(FIXTURE_DIR, 'src/index.ts')).href;

const SETTINGS: EgressSettings = {
  dataDir: '/nonexistent/egress',
  segmentSeconds: 2,
  partSeconds: 0.5,
  windowSegments: 6,
  publicUrl: null,
  storage: null,
};

const SOURCE: EgressSource = {
  nodeId: 'test-node',
  publishers: () => [],
  tap: () => Promise.reject(new Error('no publisher in this test')),
  watch: () => () => undefined,
};

describe('egress loader', () => {
  let tmp: string;
  /** A directory with stand-ins for ffmpeg and ffprobe (the loader only looks them up). */
  let fakeBin: string;

  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'bbmeet-egress-loader-'));
    fakeBin = path.join(tmp, 'bin');
    await mkdir(fakeBin);
    for (const program of ['ffmpeg', 'ffprobe']) {
      await writeFile(path.join(fakeBin, program), '#!/bin/sh\nexit 0\n');
      await chmod(path.join(fakeBin, program), 0o755);
    }
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function packageWith(dependencies: Record<string, string>, installed: string[]): Promise<string> {
    const dir = await mkdtemp(path.join(tmp, 'pkg-'));
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'egress', type: 'module', dependencies }),
    );
    for (const name of installed) {
      await mkdir(path.join(dir, 'node_modules', name), { recursive: true });
      await writeFile(path.join(dir, 'node_modules', name, 'package.json'), '{}');
    }
    return dir;
  }

  it('loadEgress() imports the package entry point and returns its createEgress', async () => {
    const create = await loadEgress({ packageDir: FIXTURE_DIR, searchPath: fakeBin });
    const fixture = (await import(FIXTURE_ENTRY)) as {
      createEgress: CreateEgress;
      calls: unknown[];
    };
    assert.equal(create, fixture.createEgress);
    const made = await create({ source: SOURCE, settings: SETTINGS, logger: silentLogger() });
    assert.equal(fixture.calls.length, 1);
    const call = fixture.calls[0] as Parameters<CreateEgress>[0];
    assert.equal(call.source, SOURCE);
    assert.deepEqual(call.settings, SETTINGS);
    assert.deepEqual(made.backend.list(), []);
  });

  it('loadEgress() names the npm packages missing from node_modules and says to run npm run setup:egress', async () => {
    const dir = await packageWith({ ws: '8.23.1', '@moq/hang': '0.3.5', '@moq/net': '0.2.8' }, [
      'ws',
      '@moq/net',
    ]);
    await assert.rejects(loadEgress({ packageDir: dir, searchPath: fakeBin }), (err: unknown) => {
      assert.ok(err instanceof EgressNotInstalledError);
      assert.deepEqual(err.problems, [
        `npm packages not installed in ${path.join(dir, 'node_modules')}: @moq/hang`,
      ]);
      assert.deepEqual(err.commands, ['npm run setup:egress']);
      assert.match(err.message, /^ {2}npm run setup:egress$/m);
      return true;
    });
  });

  it("loadEgress() without ffmpeg or ffprobe on PATH asks for Debian's ffmpeg as root, then setup:egress", async () => {
    const onlyProbe = path.join(tmp, 'only-probe');
    await mkdir(onlyProbe);
    await writeFile(path.join(onlyProbe, 'ffprobe'), '#!/bin/sh\n', { mode: 0o755 });
    // Not executable: not a program.
    await writeFile(path.join(onlyProbe, 'ffmpeg'), '#!/bin/sh\n', { mode: 0o644 });
    await assert.rejects(
      loadEgress({
        packageDir: FIXTURE_DIR,
        searchPath: [path.join(tmp, 'absent'), onlyProbe].join(path.delimiter),
      }),
      (err: unknown) => {
        assert.ok(err instanceof EgressNotInstalledError);
        assert.deepEqual(err.problems, ['not found on PATH: ffmpeg']);
        assert.equal(err.commands.length, 2);
        assert.match(err.commands[0]!, /^apt-get install -y --no-install-recommends ffmpeg +# as root/);
        assert.equal(err.commands[1], 'npm run setup:egress');
        return true;
      },
    );
  });

  it('loadEgress() of a package without an entry point or without createEgress fails saying which', async () => {
    const noEntry = await packageWith({}, []);
    await assert.rejects(
      loadEgress({ packageDir: noEntry, searchPath: fakeBin }),
      /egress entry point .*index\.ts is missing/,
    );
    await mkdir(path.join(noEntry, 'src'));
    await writeFile(path.join(noEntry, 'src/index.ts'), 'export const somethingElse = 1;\n');
    await assert.rejects(
      loadEgress({ packageDir: noEntry, searchPath: fakeBin }),
      /does not export createEgress/,
    );
  });

  it("the default package is the repository's packages/egress", async () => {
    const manifest = JSON.parse(
      await readFile(path.join(fileURLToPath(EGRESS_PACKAGE_URL), 'package.json'), 'utf8'),
    );
    assert.equal(manifest.name, 'bbmeet-egress');
  });

  it('deferredEgressHttp() answers 503 until the SFU has called createEgress, then hands requests to egress', async () => {
    const fixture = (await import(FIXTURE_ENTRY)) as { createEgress: CreateEgress };
    const deferred = deferredEgressHttp(fixture.createEgress);
    const answer = async () => {
      const server = createServer((req, res) => deferred.http.handle(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      try {
        const res = await fetch(`http://127.0.0.1:${port}/egress/room/index.m3u8`);
        return [res.status, await res.text()];
      } finally {
        server.close();
      }
    };
    assert.deepEqual(await answer(), [503, 'egress is not running']);
    await deferred.create({ source: SOURCE, settings: SETTINGS, logger: silentLogger() });
    assert.deepEqual(await answer(), [200, 'test egress: GET /egress/room/index.m3u8']);
  });
});
