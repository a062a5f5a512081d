// `npm run audit`: npm audit of the production dependencies. Where the registry refuses the audit
// endpoint (some mirrors answer 405), this says so and fails: nothing was audited, and a green
// result would be a lie. The dependency tree itself is checked by scripts/check-deps.mjs.
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['audit', '--omit=dev'], { encoding: 'utf8' });
const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
const refused = /\b(405|audit endpoint returned an error|ENOAUDIT)\b/i.test(output);
if (refused) {
  process.stderr.write(
    `${output.trim()}\n\nnpm audit: the registry refused the audit request, so the dependencies were NOT audited.\n` +
      'Run `npm run audit` where the npm registry serves its audit endpoint (registry.npmjs.org does),\n' +
      'or audit package-lock.json with another tool. `npm run check:deps` checks the tree itself.\n',
  );
  process.exit(2);
}
process.stdout.write(output);
process.exit(result.status ?? 1);
