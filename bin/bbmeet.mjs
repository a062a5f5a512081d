#!/usr/bin/env node
// Entry point of the `bbmeet` command. The server is TypeScript run by Node 24's type stripping;
// npm scripts and npx put the project's own Node 24 (the `node` package) first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `bbmeet needs Node.js 24 or newer (this is ${process.version}). Run it through npm (npm start, npx bbmeet), ` +
      'which uses the Node 24 installed in node_modules by npm install.\n',
  );
  process.exit(1);
}
const { main } = await import('../src/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bbmeet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
