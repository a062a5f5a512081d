import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATED = join(ROOT, 'src/protocol/generated');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

test('the committed src/protocol/generated is what buf generates from proto/ (contract and code cannot drift)', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bbmeet-proto-'));
  try {
    // buf runs protoc-gen-es from node_modules/.bin, a Node script: our Node first on PATH.
    const PATH = [join(ROOT, 'node_modules/.bin'), dirname(process.execPath), process.env.PATH].join(
      delimiter,
    );
    await promisify(execFile)(join(ROOT, 'node_modules/.bin/buf'), ['generate', '--output', out], {
      cwd: ROOT,
      env: { ...process.env, PATH },
    });
    const fresh = join(out, 'src/protocol/generated');
    const expected = await listFiles(fresh);
    assert.ok(expected.length > 0, 'buf generated nothing');
    assert.deepEqual(
      await listFiles(GENERATED),
      expected,
      'run `npm run proto:generate` and commit the result',
    );
    for (const file of expected) {
      const [want, have] = await Promise.all([
        readFile(join(fresh, file), 'utf8'),
        readFile(join(GENERATED, file), 'utf8'),
      ]);
      assert.equal(
        have,
        want,
        `${file} differs from proto/: run \`npm run proto:generate\` and commit the result`,
      );
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
