import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/**
 * The viewer page under `/egress/`: `watch.html` (`?hls=<master playlist URL>` plays it with
 * hls.js; `?moq=<endpoint>&path=<broadcast>` links to the MoQ player), its stylesheet and its
 * bundle. The bundle is built by esbuild in memory on first request (as the demo page's is);
 * where esbuild is not installed, the one written by `npm run build:viewer` into dist/ is served.
 */

const HERE = import.meta.dirname;
const DIST_DIR = path.resolve(HERE, '../../dist');
const ENTRY = path.join(HERE, 'watch.ts');

const TYPES = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  map: 'application/json; charset=utf-8',
} as const;

type Built = Map<string, Buffer>;
let bundle: Promise<Built> | null = null;

/** Bundles watch.ts (the same options as the `build:viewer` script): `watch.js` and its map. */
export async function buildViewer(): Promise<Built> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    outfile: path.join(DIST_DIR, 'watch.js'),
    write: false,
    logLevel: 'silent',
  });
  return new Map(result.outputFiles.map((f) => [path.basename(f.path), Buffer.from(f.contents)]));
}

async function loadBundle(): Promise<Built> {
  try {
    return await buildViewer();
  } catch (err) {
    const prebuilt = path.join(DIST_DIR, 'watch.js');
    const missingEsbuild = err instanceof Error && /Cannot find (package|module) 'esbuild'/.test(err.message);
    if (!missingEsbuild || !existsSync(prebuilt)) throw err;
    const files: Built = new Map([['watch.js', await readFile(prebuilt)]]);
    if (existsSync(`${prebuilt}.map`)) files.set('watch.js.map', await readFile(`${prebuilt}.map`));
    return files;
  }
}

function bundleFile(name: string): Promise<Buffer | undefined> {
  if (!bundle) {
    bundle = loadBundle();
    // A failed build is tried again on the next request.
    bundle.catch(() => {
      bundle = null;
    });
  }
  return bundle.then((files) => files.get(name));
}

/** The http(s) origin of the playlist the page is asked to play, or null (same origin, or none). */
export function playlistOrigin(hls: string | null): string | null {
  if (!hls) return null;
  let url: URL;
  try {
    url = new URL(hls);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
}

/**
 * The page's Content-Security-Policy: its own files only, and media from MSE (`blob:`) and the
 * playlist's origin, which hls.js fetches playlists and segments from.
 */
export function viewerCsp(origin: string | null): string {
  const media = ["'self'", ...(origin ? [origin] : [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `media-src ${media} blob:`,
    `connect-src ${media}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

async function body(file: string): Promise<Buffer | undefined> {
  if (file === 'watch.html' || file === 'watch.css') return readFile(path.join(HERE, file));
  return bundleFile(file);
}

function send(res: ServerResponse, status: number, type: string, data: Buffer | string, head: boolean): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(head ? undefined : data);
}

const FILES = new Set(['watch.html', 'watch.css', 'watch.js', 'watch.js.map']);

/**
 * Answers `/egress/watch.html`, `watch.css`, `watch.js` and `watch.js.map`; returns false for any
 * other path (the caller's to answer). The response is written asynchronously.
 */
export function serveViewer(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://viewer.invalid');
  const file = url.pathname.startsWith('/egress/') ? url.pathname.slice('/egress/'.length) : '';
  if (!FILES.has(file)) return false;
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return true;
  }
  const type = TYPES[path.extname(file).slice(1) as keyof typeof TYPES];
  if (file === 'watch.html')
    res.setHeader('content-security-policy', viewerCsp(playlistOrigin(url.searchParams.get('hls'))));
  body(file).then(
    (data) => (data ? send(res, 200, type, data, head) : send(res, 404, TYPES.html, 'Not Found', head)),
    (err: unknown) => {
      // A build error is the operator's to see: answer it as text (the next request builds again).
      const message = err instanceof Error ? err.message : String(err);
      send(res, 500, 'text/plain; charset=utf-8', `Could not build the viewer: ${message}`, head);
    },
  );
  return true;
}
