import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { EgressHttp } from '../../../../src/sfu/egress-backend.ts';
import { HlsHttp, type LivePlaylist } from '../hls/hls-http.ts';
import { type MoqServer, serveWatchPage } from '../moq/index.ts';

/**
 * Everything egress serves under `/egress/`, mounted by the role on the server's HTTP port (or a
 * cluster node's EGRESS_HTTP_PORT):
 *
 *   /egress/<egressId>/…          one egress's files: HLS playlists, segments and parts (blocking
 *                                 reloads while live), recordings
 *   /egress/moq-watch.html|.js    the MoQ player page
 *   /egress/watch.html|.js        the HLS/MoQ viewer page (when built)
 *   /egress/moq                   the MoQ WebSocket endpoint (upgrade)
 */

/** One egress's directory as served: its files, and its live playlists while it runs. */
export interface ServedEgress {
  live?: (relativePath: string) => LivePlaylist | undefined;
}

const EGRESS_ID = /^[0-9a-f-]{36}$/;

export class EgressHttpRouter implements EgressHttp {
  readonly #dataDir: string;
  readonly #moq: MoqServer;
  readonly #log: Logger;
  readonly #served = new Map<string, HlsHttp>();
  readonly #pages: Array<(req: IncomingMessage, res: ServerResponse) => boolean> = [];

  constructor(options: { dataDir: string; moq: MoqServer; logger: Logger }) {
    this.#dataDir = options.dataDir;
    this.#moq = options.moq;
    this.#log = options.logger;
    this.#pages.push((req, res) => serveWatchPage(req, res, this.#log));
  }

  /** Serves another page handler (the viewer) before the egress directories. */
  addPages(handler: (req: IncomingMessage, res: ServerResponse) => boolean): void {
    this.#pages.push(handler);
  }

  /** Serves an egress's directory (`<dataDir>/<egressId>`) from now on; the files stay served after it ends. */
  serve(egressId: string, served: ServedEgress = {}): void {
    this.#served.set(egressId, new HlsHttp({ root: join(this.#dataDir, egressId), ...served }));
  }

  /** Its directory is gone (deleted, or uploaded elsewhere): 404 from now on. */
  forget(egressId: string): void {
    this.#served.delete(egressId);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    for (const page of this.#pages) if (page(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const [, prefix, egressId, ...rest] = path.split('/');
    const files =
      prefix === 'egress' && egressId && EGRESS_ID.test(egressId) ? this.#served.get(egressId) : undefined;
    if (!files || rest.length === 0) {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' });
      res.end('not found');
      return;
    }
    files.handle(req, res, rest.join('/'));
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.#moq.upgrade(req, socket, head);
  }
}
