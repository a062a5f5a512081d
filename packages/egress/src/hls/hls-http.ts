import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, extname, resolve, sep } from 'node:path';
import type { PlaylistWaiters } from './playlist-waiters.ts';

/** What a live media playlist offers the HTTP layer for blocking reloads and preload hints. */
export interface LivePlaylist {
  waiters: PlaylistWaiters;
  targetDurationS: number;
}

export interface HlsHttpOptions {
  /** The directory served (one egress's files). */
  root: string;
  /** The live playlist a path (relative to root, `/`-separated) belongs to, if it is live. */
  live?: (relativePath: string) => LivePlaylist | undefined;
}

const PART_FILE = /^part-(\d+)\.(\d+)\.m4s$/;
const SEGMENT_FILE = /^seg-(\d+)\.m4s$/;

/**
 * Serves one egress's HLS directory over node:http: playlists, init segments, segments and parts,
 * with their content types, CORS for any origin (public playback files) and caching fit for each.
 * Blocking playlist reloads (`_HLS_msn`, `_HLS_part`, 8216bis 6.2.5.2) wait until the playlist
 * holds what was asked, at most three target durations, then answer the playlist as it is; a
 * request for a part or segment announced but not written yet (the preload hint) waits the same way.
 * The caller strips its URL prefix and passes the path relative to the root.
 */
export class HlsHttp {
  private readonly root: string;
  private readonly options: HlsHttpOptions;

  constructor(options: HlsHttpOptions) {
    this.root = resolve(options.root);
    this.options = options;
  }

  handle(req: IncomingMessage, res: ServerResponse, relativePath: string): void {
    this.serve(req, res, relativePath).catch((err: unknown) => {
      // The response is this request's only consumer: answer 500 if nothing was sent yet.
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy(err instanceof Error ? err : undefined);
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, relativePath: string): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Range');
      return send(res, 204, '');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    const path = this.resolveSafe(relativePath);
    if (!path) return send(res, 404, 'not found');
    const rel = path
      .slice(this.root.length + 1)
      .split(sep)
      .join('/');
    const live = this.options.live?.(rel);
    const query = new URL(req.url ?? '/', 'http://local').searchParams;
    const waited = await this.waitIfAsked(live, rel, query);
    if (waited === 'bad_request') return send(res, 400, 'bad _HLS_msn/_HLS_part');
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return send(res, 404, 'not found');
    res.writeHead(200, {
      'Content-Type': contentType(rel),
      'Content-Length': info.size,
      'Cache-Control': cacheControl(rel, live, waited === 'satisfied' && query.has('_HLS_msn')),
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(path).pipe(res);
  }

  /** The absolute path of a request inside the root, or null (traversal, NUL, dot files). */
  private resolveSafe(relativePath: string): string | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(relativePath.split('?')[0]!);
    } catch {
      return null;
    }
    if (decoded.includes('\0') || decoded.split(/[\\/]/).some((p) => p === '..' || p.startsWith('.'))) {
      return null;
    }
    const path = resolve(this.root, `.${sep}${decoded}`);
    return path.startsWith(this.root + sep) ? path : null;
  }

  /**
   * Waits for a blocking reload or a hinted part: 'satisfied' when what was asked is there,
   * 'ok' when nothing was asked or the wait timed out, 'bad_request' for a target too far ahead.
   */
  private async waitIfAsked(
    live: LivePlaylist | undefined,
    rel: string,
    query: URLSearchParams,
  ): Promise<'ok' | 'satisfied' | 'bad_request'> {
    if (!live) return 'ok';
    const timeoutMs = 3 * live.targetDurationS * 1000;
    const target = rel.endsWith('.m3u8') ? blockingTarget(query) : hintedTarget(basename(rel));
    if (target === 'bad_request') return target;
    if (!target) return 'ok';
    // 8216bis 6.2.5.2: more than two segments ahead of the playlist is a client error.
    if (target.msn > live.waiters.current.msn + 2) return 'bad_request';
    await live.waiters.wait(target.msn, target.part, timeoutMs);
    return live.waiters.has(target.msn, target.part) ? 'satisfied' : 'ok';
  }
}

function blockingTarget(query: URLSearchParams): { msn: number; part: number | null } | 'bad_request' | null {
  const msn = query.get('_HLS_msn');
  const part = query.get('_HLS_part');
  if (msn === null) return part === null ? null : 'bad_request';
  if (!/^\d+$/.test(msn) || (part !== null && !/^\d+$/.test(part))) return 'bad_request';
  return { msn: Number(msn), part: part === null ? null : Number(part) };
}

function hintedTarget(file: string): { msn: number; part: number | null } | null {
  const part = PART_FILE.exec(file);
  if (part) return { msn: Number(part[1]), part: Number(part[2]) };
  const segment = SEGMENT_FILE.exec(file);
  return segment ? { msn: Number(segment[1]), part: null } : null;
}

function contentType(rel: string): string {
  const ext = extname(rel);
  if (ext === '.m3u8') return 'application/vnd.apple.mpegurl';
  // Recordings are served from their egress directory too.
  if (ext === '.webm') return 'video/webm';
  const audio = basename(dirname(rel)).startsWith('audio');
  if (ext === '.mp4') return audio ? 'audio/mp4' : 'video/mp4';
  if (ext === '.m4s') return audio ? 'audio/mp4' : 'video/iso.segment';
  return 'application/octet-stream';
}

/**
 * Live playlists change every part: never cached, except a blocking reload's answer, which is
 * final for its URL (8216bis 6.2.5.2 suggests caching it). Segments and parts never change.
 */
/** The room master playlist's path under an egress's directory (control/room-hls.ts). */
const ROOM_MASTER_FILE = 'master.m3u8';

function cacheControl(rel: string, live: LivePlaylist | undefined, blockingAnswered: boolean): string {
  if (!rel.endsWith('.m3u8')) return 'public, max-age=3600';
  // Why: a room's master (at the egress's root) changes as participants come and go, and a viewer
  // refetches it to see who is streaming now.
  if (rel === ROOM_MASTER_FILE) return 'no-cache';
  if (!live) return 'public, max-age=2';
  return blockingAnswered ? `public, max-age=${Math.ceil(6 * live.targetDurationS)}` : 'no-cache';
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
