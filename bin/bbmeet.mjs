#!/usr/bin/env node
// Entry point of the `bbmeet` command. The server is TypeScript run by Node 24's type stripping;
// npm scripts and npx put the project's own Node 24 (the `node` package) first on PATH.
import module from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `bbmeet needs Node.js 24 or newer (this is ${process.version}). Run it through npm (npm start, npx bbmeet), ` +
      'which uses the Node 24 installed in node_modules by npm install.\n',
  );
  process.exit(1);
}
// Node strips the types of each .ts module with a WebAssembly compiler (amaro) that every thread
// loading TypeScript instantiates for itself: ≈13 MB in the main thread and in each media worker.
// The compile cache keeps the stripped source and V8's code cache on disk (by default in the
// system's temporary directory), so a start after the first one never instantiates it. Workers
// inherit the cache through the environment; NODE_COMPILE_CACHE set by the user is kept, and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
if (process.env.NODE_COMPILE_CACHE === undefined) {
  const { directory } = module.enableCompileCache();
  if (directory) process.env.NODE_COMPILE_CACHE = directory;
}
const { main } = await import('../src/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bbmeet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
