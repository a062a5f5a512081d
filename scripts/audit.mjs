// `npm run audit`: npm audit of the production dependencies, then the checks of the installed tree
// (scripts/check-deps.mjs: `npm ls --omit=dev` clean, one version of each package on the media
// path), which run whatever the audit gave. Where the registry refuses the audit endpoint (some
// mirrors answer 405), this says plainly that nothing was audited and exits 2 even when the tree
// checks pass: a green result would be a lie. Exit 0 only when both the audit and the checks pass.
// BBMEET_NPM names the npm to run (default npm; the tests give a scripted one).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const npm = process.env.BBMEET_NPM || (process.platform === 'win32' ? 'npm.cmd' : 'npm');
const audit = spawnSync(npm, ['audit', '--omit=dev'], { encoding: 'utf8' });
const output = `${audit.stdout ?? ''}${audit.stderr ?? ''}`.trim();
const refused =
  audit.error === undefined && /\b(405|audit endpoint returned an error|ENOAUDIT)\b/i.test(output);
if (output) process.stdout.write(`${output}\n`);

const checkDeps = fileURLToPath(new URL('./check-deps.mjs', import.meta.url));
process.stdout.write('\naudit: checking the installed production tree (npm ls)\n');
const deps = spawnSync(process.execPath, [checkDeps], { stdio: 'inherit' });

if (refused) {
  process.stderr.write(
    '\naudit: NOT AUDITED. The registry refused the npm audit request (HTTP 405), so no dependency\n' +
      'was checked for known vulnerabilities. Run `npm run audit` where the registry (or the proxy in\n' +
      'front of it) serves its audit endpoint, or audit package-lock.json with another tool.\n' +
      `audit: tree checks ${deps.status === 0 ? 'passed' : 'FAILED'}.\n`,
  );
  process.exit(2);
}
if (audit.error) {
  process.stderr.write(`\naudit: npm audit did not run (${audit.error.message}): NOT AUDITED.\n`);
  process.exit(2);
}
if (deps.status !== 0) process.exit(deps.status ?? 1);
process.exit(audit.status ?? 1);
