import type { Server } from 'socket.io';
import { SfuError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ClusterPeers } from '../protocol/cluster-peers.ts';

/** An instance's reply: it took the request (with its answer), or not. */
type Reply = { taken: true; answer: unknown } | { taken: false };

/**
 * ClusterPeers over the socket.io adapter (Redis): `serverSideEmitWithAck` reaches every other
 * instance and gathers their replies; the adapter waits for all of them up to its requestsTimeout
 * (5 s by default), and the one that took the request is picked from those that came.
 */
export class PeerRequests implements ClusterPeers {
  readonly #io: Server;
  readonly #log: Logger;

  constructor(io: Server, logger: Logger) {
    this.#io = io;
    this.#log = logger;
  }

  async ask(event: string, request: unknown): Promise<unknown> {
    let replies: unknown[];
    let silent = false;
    try {
      replies = await this.#io.serverSideEmitWithAck(event, request);
    } catch (err) {
      // Some instance did not answer in time: the holder's reply may be among those that came.
      replies = (err as { responses?: unknown[] }).responses ?? [];
      silent = true;
      this.#log.warn({ err, event }, 'a signalling instance did not answer a peer request');
    }
    const taken = replies.find(
      (r): r is Extract<Reply, { taken: true }> => (r as Reply | null)?.taken === true,
    );
    if (taken) return taken.answer;
    if (silent)
      throw new SfuError(
        'unavailable',
        'a signalling instance did not answer: what was asked for may be on it',
      );
    return undefined;
  }

  answer(event: string, handler: (request: unknown) => Promise<unknown>): void {
    // socket.io types `on` for connections only; server-side events come with their ack last.
    (this.#io as unknown as { on(event: string, listener: (msg: unknown, ack: unknown) => void): void }).on(
      event,
      (msg, ack) => {
        if (typeof ack !== 'function') return;
        handler(msg).then(
          (answer): void => ack(answer === undefined ? { taken: false } : { taken: true, answer }),
          (err: unknown) => {
            // Handlers answer their own failures; this one escaped: the asker gets a plain refusal.
            this.#log.warn({ err, event }, 'a peer request failed');
            ack({ taken: false });
          },
        );
      },
    );
  }
}
