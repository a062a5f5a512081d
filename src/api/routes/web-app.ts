import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import type { FastifyInstance } from 'fastify';

/**
 * The demo meeting page and the browser SDK, outside the /busapi/v3 tree:
 *
 *   GET /                 web/index.html (the demo: lobby, call grid, controls, chat, stats)
 *   GET /demo.css         web/demo.css
 *   GET /demo.js          web/demo.ts, bundled; imports the SDK from /sdk/bbmeet.js
 *   GET /sdk/bbmeet.js    src/sdk/index.ts bundled with socket.io-client (one ES module)
 *
 * The bundles are built by esbuild in memory on first request (no build step, nothing generated
 * in the checkout). Where esbuild is not installed (`npm ci --omit=dev`), the files written by
 * `npm run build:sdk` into dist/web/ are served instead.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..');
const WEB_DIR = path.join(ROOT, 'web');
const DIST_DIR = path.join(ROOT, 'dist/web');
const SDK_URL = '/sdk/bbmeet.js';

interface Bundle {
  name: string;
  entry: string;
}

const BUNDLES: Record<string, Bundle> = {
  sdk: { name: 'bbmeet.js', entry: path.join(ROOT, 'src/sdk/index.ts') },
  demo: { name: 'demo.js', entry: path.join(WEB_DIR, 'demo.ts') },
};

type Built = Map<string, Buffer>;

/** The demo imports the SDK's sources for type checking; in the browser it loads the served bundle. */
const sdkAsExternal: Plugin = {
  name: 'bbmeet-sdk-external',
  setup(build) {
    build.onResolve({ filter: /\/src\/sdk\/index\.ts$/ }, () => ({ path: SDK_URL, external: true }));
  },
};

/** Bundles `bundle` with esbuild; returns `<name>` and `<name>.map`. */
export async function buildBundle(bundle: Bundle): Promise<Built> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [bundle.entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    outfile: path.join(DIST_DIR, bundle.name),
    write: false,
    logLevel: 'silent',
    plugins: bundle === BUNDLES.demo ? [sdkAsExternal] : [],
  });
  const files: Built = new Map();
  for (const file of result.outputFiles) files.set(path.basename(file.path), Buffer.from(file.contents));
  return files;
}

async function loadBundle(bundle: Bundle): Promise<Built> {
  try {
    return await buildBundle(bundle);
  } catch (err) {
    const prebuilt = path.join(DIST_DIR, bundle.name);
    const missingEsbuild = err instanceof Error && /Cannot find (package|module) 'esbuild'/.test(err.message);
    if (!missingEsbuild || !existsSync(prebuilt)) throw err;
    const files: Built = new Map([[bundle.name, await readFile(prebuilt)]]);
    if (existsSync(`${prebuilt}.map`)) files.set(`${bundle.name}.map`, await readFile(`${prebuilt}.map`));
    return files;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export function registerWebApp(app: FastifyInstance): void {
  const built = new Map<Bundle, Promise<Built>>();
  const bundleFile = async (bundle: Bundle, file: string): Promise<Buffer | undefined> => {
    let pending = built.get(bundle);
    if (!pending) {
      pending = loadBundle(bundle);
      built.set(bundle, pending);
      // A failed build is retried on the next request (e.g. after fixing a syntax error).
      pending.catch(() => built.delete(bundle));
    }
    return (await pending).get(file);
  };
  const serveBundle = (url: string, bundle: Bundle, file: string) =>
    app.get(url, async (request, reply) => {
      let body: Buffer | undefined;
      try {
        body = await bundleFile(bundle, file);
      } catch (err) {
        request.log.error({ err, bundle: bundle.name }, 'bundling the web app failed');
        return reply
          .code(500)
          .type('text/plain; charset=utf-8')
          .send(`Could not build ${bundle.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!body) return reply.code(404).type('text/plain; charset=utf-8').send('Not Found');
      return reply.type(TYPES[path.extname(file)]!).header('cache-control', 'no-cache').send(body);
    });
  const serveFile = (url: string, file: string) =>
    app.get(url, async (_request, reply) =>
      reply
        .type(TYPES[path.extname(file)]!)
        .header('cache-control', 'no-cache')
        .send(await readFile(path.join(WEB_DIR, file))),
    );
  serveFile('/', 'index.html');
  serveFile('/demo.css', 'demo.css');
  serveBundle('/demo.js', BUNDLES.demo!, 'demo.js');
  serveBundle('/demo.js.map', BUNDLES.demo!, 'demo.js.map');
  serveBundle(SDK_URL, BUNDLES.sdk!, 'bbmeet.js');
  serveBundle(`${SDK_URL}.map`, BUNDLES.sdk!, 'bbmeet.js.map');
}

/** `npm run build:sdk`: writes the bundles to dist/web/ (for installs without esbuild). */
async function writeBundles(): Promise<void> {
  await mkdir(DIST_DIR, { recursive: true });
  for (const bundle of Object.values(BUNDLES)) {
    for (const [name, contents] of await buildBundle(bundle)) {
      await writeFile(path.join(DIST_DIR, name), contents);
      process.stdout.write(`wrote ${path.relative(ROOT, path.join(DIST_DIR, name))}\n`);
    }
  }
}

if (import.meta.main) await writeBundles();
