// Runs before `npm start`: installs the npm dependencies (including the project's own Node 24)
// when node_modules is missing or older than the lockfile. Plain JavaScript: it may run on an
// older system Node before Node 24 is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  process.stderr.write('bbmeet: installing npm dependencies (first start)…\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
