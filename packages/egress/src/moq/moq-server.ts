import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as Moq from '@moq/net';
import Session, { selectSubprotocol } from '@moq/qmux';
import { type WebSocket, WebSocketServer } from 'ws';
import { SfuError } from '../../../../src/lib/errors.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import { MoqBroadcast, type MoqBroadcastOptions } from './moq-broadcast.ts';
import { MoqViewer } from './moq-viewer.ts';

/** The WebSocket endpoint viewers connect to (EgressHttp.upgrade). */
export const MOQ_PATH = '/egress/moq';

/**
 * moq-lite drafts the server speaks, newest first; each over any QMux draft (`null`). The
 * @moq/watch player offers `qmux-02.moq-lite-05` first.
 */
const SUBPROTOCOLS = {
  protocols: ['moq-lite-05', 'moq-lite-04', 'moq-lite-03'],
  versions: { 'moq-lite-05': null, 'moq-lite-04': null, 'moq-lite-03': null },
};

export interface MoqServerOptions {
  logger: Logger;
  /** Backlog (bytes handed to a viewer's session, not yet sent) past which it skips groups. */
  maxViewerLagBytes?: number;
  maxViewers?: number;
}

export interface MoqServerStats {
  broadcasts: number;
  viewers: number;
  /** Groups slow viewers skipped, since the server started. */
  viewerGroupsDropped: number;
}

const DEFAULT_MAX_VIEWER_LAG_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_VIEWERS = 500;

/**
 * MoQ over WebSocket (QMux + moq-lite, as @moq/qmux and @moq/net implement them): viewers
 * connect to `/egress/moq` and see every broadcast announced; the MoQ watch player subscribes
 * to one by its path (`<roomId>/<participantId>`).
 */
export class MoqServer {
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  readonly #broadcasts = new Map<string, MoqBroadcast>();
  readonly #viewers = new Set<MoqViewer>();
  readonly #maxViewerLagBytes: number;
  readonly #maxViewers: number;
  #groupsDropped = 0;

  constructor(options: MoqServerOptions) {
    this.#log = options.logger.child({ component: 'moq' });
    this.#maxViewerLagBytes = options.maxViewerLagBytes ?? DEFAULT_MAX_VIEWER_LAG_BYTES;
    this.#maxViewers = options.maxViewers ?? DEFAULT_MAX_VIEWERS;
    this.#wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (offered) => selectSubprotocol([...offered], SUBPROTOCOLS) ?? false,
    });
  }

  /** Takes a WebSocket upgrade on MOQ_PATH; false: not ours (the caller answers it). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== MOQ_PATH) return false;
    // Why: without a negotiated moq-lite subprotocol the peer's framing would not match ours.
    const offered = req.headers['sec-websocket-protocol'];
    if (!selectSubprotocol(offered, SUBPROTOCOLS) || this.#viewers.size >= this.#maxViewers) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return true;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, socket as Socket, url));
    return true;
  }

  /** Starts a broadcast at `path`; viewers connected now and later see it announced. */
  createBroadcast(path: string, options: Omit<MoqBroadcastOptions, 'path' | 'logger'> = {}): MoqBroadcast {
    const valid = Moq.Path.from(path);
    if (this.#broadcasts.has(valid)) throw new SfuError('already_exists', `MoQ broadcast ${valid} exists`);
    const broadcast = new MoqBroadcast({
      ...options,
      path: valid,
      logger: this.#log,
      onEnd: (ended) => {
        this.#broadcasts.delete(ended.path);
        options.onEnd?.(ended);
      },
    });
    this.#broadcasts.set(valid, broadcast);
    for (const viewer of this.#viewers) viewer.add(broadcast);
    return broadcast;
  }

  stats(): MoqServerStats {
    return {
      broadcasts: this.#broadcasts.size,
      viewers: this.#viewers.size,
      viewerGroupsDropped: this.#groupsDropped,
    };
  }

  /** Ends every broadcast and disconnects every viewer. */
  async close(): Promise<void> {
    await Promise.all([...this.#broadcasts.values()].map((b) => b.end('shutdown')));
    for (const viewer of this.#viewers) viewer.close();
    this.#wss.close();
  }

  #accept(ws: WebSocket, socket: Socket, url: URL): void {
    // ws implements the WebSocket surface qmux drives (binaryType, send, bufferedAmount, events).
    const session = Session.accept(ws as unknown as Parameters<typeof Session.accept>[0]);
    const viewer = new MoqViewer({
      session,
      socket,
      url,
      remote: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`,
      logger: this.#log,
      maxLagBytes: this.#maxViewerLagBytes,
      onGroupDropped: () => this.#groupsDropped++,
    });
    this.#viewers.add(viewer);
    viewer
      .run([...this.#broadcasts.values()])
      // run() settles once the session is over, cleanly or not; it never rejects.
      .finally(() => this.#viewers.delete(viewer))
      .catch(() => {});
  }
}
