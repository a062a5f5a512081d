// Builds the native fast path (binding.gyp → build/Release/bbmeet_native.node) with npm's own
// node-gyp, offline: the Node headers (and Node's OpenSSL headers) come from a Node installed on
// this machine, passed as --nodedir, so node-gyp never downloads any. Then checks that the addon
// loads in every Node here (the system one running npm and the project's Node 24).
//
// `npm ci` runs it as the install script and must never fail because of it: without --strict it
// always exits 0, and the server runs on JavaScript when the addon is missing.
//   node native/build.mjs            build if possible, explain otherwise, exit 0
//   node native/build.mjs --strict   exit 1 when the build or the check fails, 2 when this
//                                    machine cannot build it (no compiler, no headers, not Linux)
//   node native/build.mjs --if-stale   build only when the addon is missing or older than its source
// Plain JavaScript: it may run on the system Node before Node 24 is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addon = path.join(root, 'build', 'Release', 'bbmeet_native.node');
const sources = [path.join(root, 'native', 'bbmeet_native.c'), path.join(root, 'binding.gyp')];
const strict = process.argv.includes('--strict');
const ifStale = process.argv.includes('--if-stale');

/** Exit codes with --strict. */
const FAILED = 1;
const CANNOT_BUILD = 2;

function finish(code, message) {
  if (code !== 0) process.stderr.write(`native fast path unavailable, using JavaScript: ${message}\n`);
  else process.stderr.write(`native fast path: ${message}\n`);
  process.exit(strict ? code : 0);
}

/** Every executable named `name` on PATH, resolved through symlinks. */
function onPath(name) {
  const found = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      if (statSync(file).isFile()) found.push(realpathSync(file));
    } catch {
      // not there
    }
  }
  return [...new Set(found)];
}

/** npm's bundled node-gyp (npm always ships one), or a local install. */
function findNodeGyp() {
  const candidates = [];
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv) candidates.push(fromEnv);
  if (process.env.npm_execpath)
    candidates.push(
      path.join(
        path.dirname(process.env.npm_execpath),
        '..',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      ),
    );
  for (const npm of onPath('npm')) {
    candidates.push(path.join(path.dirname(npm), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    candidates.push(
      path.join(
        path.dirname(npm),
        '..',
        'lib',
        'node_modules',
        'npm',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      ),
    );
  }
  candidates.push(path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((file) => file.endsWith('.js') && existsSync(file));
}

/**
 * A Node install prefix holding the headers we need (include/node/node_api.h and Node's OpenSSL
 * headers): the running Node's, any `node` on PATH, or node-gyp's cache of an earlier download.
 * Node-API is ABI-stable, and OpenSSL 3's EVP/SHA1 calls too, so any Node ≥ 18's headers do.
 */
function findNodeDir() {
  const prefixes = [path.dirname(path.dirname(process.execPath))];
  for (const node of onPath('node')) prefixes.push(path.dirname(path.dirname(node)));
  if (process.config?.variables?.node_prefix) prefixes.push(process.config.variables.node_prefix);
  const home = process.env.HOME;
  if (home) {
    const cache = process.env.XDG_CACHE_HOME ?? path.join(home, '.cache');
    prefixes.push(path.join(cache, 'node-gyp', process.versions.node));
  }
  return prefixes.find((prefix) => {
    const include = path.join(prefix, 'include', 'node');
    if (!existsSync(path.join(include, 'node_api.h')) || !existsSync(path.join(include, 'openssl', 'evp.h')))
      return false;
    // OpenSSL 3 (Node ≥ 17), the EVP and SHA1 ABI the addon is written against: core_names.h is
    // new in 3.0 (the C file checks the version again).
    return existsSync(path.join(include, 'openssl', 'core_names.h'));
  });
}

/** Loads the addon in `node` and checks one AES-CM seal against known bytes; '' when it works. */
function checkLoads(node) {
  const script = `
    const a = require(${JSON.stringify(addon)});
    const z = (n) => Buffer.alloc(n);
    const s = a.createSession(1, z(16), z(14), z(20), z(16), z(14), z(20));
    const buf = Buffer.alloc(32 + 10);
    buf[0] = 0x80;
    const n = a.sealRtp(s, buf, 12, 32, 0, 0, 0);
    // abiVersion: NATIVE_ABI_VERSION in src/transport/srtp/native-addon.ts.
    if (n !== 42 || a.abiVersion !== 1) throw new Error('unexpected result ' + n);
    console.log(process.version);
  `;
  const run = spawnSync(node, ['-e', script], { encoding: 'utf8' });
  if (run.status === 0) return '';
  return (run.stderr || run.stdout || `exit ${run.status}`).trim().split('\n').slice(-3).join(' ');
}

if (ifStale && existsSync(addon)) {
  const built = statSync(addon).mtimeMs;
  if (sources.every((file) => statSync(file).mtimeMs <= built)) finish(0, `up to date (${addon})`);
}
if (process.platform !== 'linux')
  finish(CANNOT_BUILD, `${process.platform} is not supported (Linux only: sendmmsg)`);
if (process.env.BBMEET_NATIVE === '0') finish(CANNOT_BUILD, 'BBMEET_NATIVE=0');
const cc = process.env.CC?.split(' ')[0];
const compiler = cc
  ? cc.includes('/')
    ? [cc].filter((file) => existsSync(file))
    : onPath(cc)
  : onPath('cc').concat(onPath('gcc'));
if (compiler.length === 0) finish(CANNOT_BUILD, 'no C compiler (cc) on PATH');
if (onPath('make').length === 0) finish(CANNOT_BUILD, 'no make on PATH');
if (onPath('python3').length === 0 && onPath('python').length === 0)
  finish(CANNOT_BUILD, 'no python3 for node-gyp');
const nodeGyp = findNodeGyp();
if (!nodeGyp) finish(CANNOT_BUILD, 'node-gyp not found (it ships with npm)');
const nodeDir = findNodeDir();
if (!nodeDir) finish(CANNOT_BUILD, 'no Node headers with OpenSSL 3 on this machine (include/node)');

const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--loglevel=error'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodeDir },
});
if (build.status !== 0) {
  rmSync(addon, { force: true });
  const output = `${build.stdout}\n${build.stderr}`.trim().split('\n').slice(-15).join('\n');
  process.stderr.write(`${output}\n`);
  finish(FAILED, `node-gyp rebuild failed (headers from ${nodeDir})`);
}

// The addon must load in the Node that runs the server (./node_modules/.bin/node, Node 24) as in
// the one that built it; a build that does not load is removed, so JavaScript takes over.
const nodes = new Set([process.execPath]);
const projectNode = path.join(root, 'node_modules', '.bin', 'node');
if (existsSync(projectNode)) nodes.add(realpathSync(projectNode));
const versions = [];
for (const node of nodes) {
  const error = checkLoads(node);
  if (error) {
    rmSync(addon, { force: true });
    finish(FAILED, `built, but it does not load in ${node}: ${error}`);
  }
  versions.push(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim());
}
finish(
  0,
  `built ${path.relative(root, addon)} (headers from ${nodeDir}), loads in Node ${versions.join(', ')}`,
);
