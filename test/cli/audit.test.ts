// `npm run audit` (scripts/audit.mjs) against a scripted npm: a registry that refuses the audit
// endpoint makes it fail saying nothing was audited, and the installed tree is checked (npm ls)
// whatever the audit gave.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const AUDIT = new URL('../../scripts/audit.mjs', import.meta.url);
const CLEAN_TREE = JSON.stringify({
  dependencies: {
    'werift-dtls': { version: '0.5.8' },
    'werift-sctp': { version: '0.0.11' },
    'sdp-transform': { version: '3.0.0' },
  },
});
const BROKEN_TREE = JSON.stringify({ problems: ['missing: pino@10.4.0'], ...JSON.parse(CLEAN_TREE) });
const REFUSED =
  'npm error code E405\nnpm error 405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk';

const execFileAsync = promisify(execFile);

/** Runs the audit script with an npm that answers `audit` and `ls` as told; its status and output. */
async function runAudit(npm: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, BBMEET_NPM: npm };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [fileURLToPath(AUDIT)], { env });
    return { status: 0, stdout, stderr };
  } catch (e) {
    // A non-zero exit: execFile rejects with the status and both outputs.
    const failed = e as { code: number | null; stdout: string; stderr: string };
    return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run audit', () => {
  let dir: string;
  /** A scripted npm: `audit` prints `auditOut` and exits `auditStatus`, `ls` prints `tree`. */
  const fakeNpm = async (name: string, audit: { out: string; status: number }, tree: string) => {
    const file = path.join(dir, name);
    const script = [
      '#!/bin/sh',
      'if [ "$1" = audit ]; then',
      `  cat >&2 <<'OUT'\n${audit.out}\nOUT`,
      `  exit ${audit.status}`,
      'fi',
      `if [ "$1" = ls ]; then cat <<'OUT'\n${tree}\nOUT\nexit 0; fi`,
      'exit 9',
    ].join('\n');
    await writeFile(file, `${script}\n`);
    await chmod(file, 0o755);
    return file;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-audit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a registry refusing the audit (405): exits non-zero saying nothing was audited, and still checks the tree', async () => {
    const npm = await fakeNpm('refused', { out: REFUSED, status: 1 }, CLEAN_TREE);
    const { status, stdout, stderr } = await runAudit(npm);
    assert.equal(status, 2);
    assert.match(stderr, /NOT AUDITED/);
    assert.match(stderr, /HTTP 405/);
    assert.match(stdout, /check-deps: production tree clean/);
    assert.match(stderr, /tree checks passed/);
  });

  it('refused and a broken tree: both are said', async () => {
    const npm = await fakeNpm('refused-broken', { out: REFUSED, status: 1 }, BROKEN_TREE);
    const { status, stderr } = await runAudit(npm);
    assert.equal(status, 2);
    assert.match(stderr, /missing: pino@10\.4\.0/);
    assert.match(stderr, /tree checks FAILED/);
  });

  it('an audit that passes and a clean tree: exit 0', async () => {
    const npm = await fakeNpm('ok', { out: 'found 0 vulnerabilities', status: 0 }, CLEAN_TREE);
    const { status, stdout } = await runAudit(npm);
    assert.equal(status, 0);
    assert.match(stdout, /found 0 vulnerabilities/);
    assert.match(stdout, /production tree clean/);
  });

  it('an audit that passes and a broken tree: exit non-zero', async () => {
    const npm = await fakeNpm('ok-broken', { out: 'found 0 vulnerabilities', status: 0 }, BROKEN_TREE);
    const { status } = await runAudit(npm);
    assert.equal(status, 1);
  });
});
