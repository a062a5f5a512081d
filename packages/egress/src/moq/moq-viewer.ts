import type { Duplex } from 'node:stream';
import * as Moq from '@moq/net';
import type Session from '@moq/qmux';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { MoqBroadcast } from './moq-broadcast.ts';
import { ViewerFeed, type ViewerLink } from './viewer-feed.ts';

export interface MoqViewerOptions {
  session: Session;
  /** The upgraded socket: what it has sent tells how far behind the viewer is. */
  socket: Duplex;
  url: URL;
  /** The viewer's address, for logs. */
  remote: string;
  logger: Logger;
  maxLagBytes: number;
  onGroupDropped: () => void;
}

/**
 * One viewer's MoQ session: every broadcast is published to it as its own feed. Its backlog is
 * estimated from the payload bytes handed to its feeds minus the bytes its socket has written:
 * framing makes the socket's count run ahead of the payload, so the lowest difference seen
 * (a viewer keeping up) is the baseline and the backlog is how far above it the difference is.
 */
export class MoqViewer implements ViewerLink {
  readonly #options: MoqViewerOptions;
  readonly #log: Logger;
  readonly #feeds = new Map<MoqBroadcast, { feed: ViewerFeed; detach: () => void }>();
  #connection: Moq.Connection.Established | null = null;
  #handed = 0;
  #baseline = 0;
  #dropped = 0;
  #closed = false;

  constructor(options: MoqViewerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ viewer: options.remote });
  }

  /** Accepts the MoQ session and serves it until it ends; never rejects. */
  async run(broadcasts: MoqBroadcast[]): Promise<void> {
    const { session, url } = this.#options;
    // A viewer dropping rejects `closed` (1006/1001): expected, and never a server error.
    session.closed.catch(() => {});
    try {
      // Why: accept() reads the negotiated subprotocol, which the session knows once it is ready.
      await session.ready;
      this.#connection = await Moq.Connection.accept(session, url);
    } catch (err) {
      this.#log.info({ err }, 'moq viewer handshake failed');
      session.close();
      return;
    }
    this.#log.info({ version: this.#connection.version }, 'moq viewer connected');
    for (const broadcast of broadcasts) this.add(broadcast);
    try {
      await this.#connection.closed;
    } catch (err) {
      this.#log.debug({ err }, 'moq viewer dropped');
    }
    this.close();
  }

  /** Publishes a broadcast to this viewer (a no-op until the handshake is done: run() adds it). */
  add(broadcast: MoqBroadcast): void {
    if (!this.#connection || this.#closed || this.#feeds.has(broadcast)) return;
    const feed = new ViewerFeed(this, this.#options.maxLagBytes);
    this.#connection.publish(Moq.Path.from(broadcast.path), feed.broadcast);
    const detach = broadcast.attach(feed);
    this.#feeds.set(broadcast, { feed, detach });
    // The feed's broadcast closes when the egress ends it or the session goes: forget it then.
    feed.broadcast.closed.then(
      () => this.#feeds.delete(broadcast),
      () => this.#feeds.delete(broadcast),
    );
  }

  lagBytes(): number {
    const written = (this.#options.socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
    const difference = this.#handed - written;
    this.#baseline = Math.min(this.#baseline, difference);
    return difference - this.#baseline;
  }

  handed(bytes: number): void {
    this.#handed += bytes;
  }

  groupDropped(): void {
    this.#dropped++;
    this.#options.onGroupDropped();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { feed, detach } of this.#feeds.values()) {
      detach();
      feed.end();
    }
    this.#feeds.clear();
    this.#log.info({ groupsDropped: this.#dropped }, 'moq viewer closed');
    this.#connection?.close();
    this.#options.session.close();
  }
}
