import type { Clock } from '../lib/clock.ts';
import type { NodeId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { SfuApi, SfuEvent } from '../protocol/sfu-api.ts';

export interface RoomLinkDeps {
  /** The node hosting the room now; undefined while no node does. */
  resolveNode: () => Promise<NodeId | undefined>;
  client: (nodeId: NodeId) => SfuApi;
  /** Sees every event from the node before the listeners do. */
  onEvent: (event: SfuEvent) => void;
  /** The node's stream broke (not aborted by us): resolves once the node was judged. */
  onStreamFailed: (nodeId: NodeId, err: unknown) => Promise<void>;
  clock: Clock;
  logger: Logger;
}

/** Events kept while nobody listens yet (between a join and signalling's pump attaching). */
const BUFFER_LIMIT = 256;
/** How long to wait before looking for the room's node again when no node hosts it. */
const IDLE_POLL_MS = 500;
/** Pause after a broken stream of a node that still answers, so a failing stream cannot spin. */
const RETRY_PAUSE_MS = 250;

/**
 * One room's event stream from whichever node hosts it, shared by the dispatcher's `events()`
 * iterators of that room. It follows the room: when its node is lost or the room moves, the
 * stream is reopened on the new host. Events that arrive while nobody listens are kept for the
 * first listener: the dispatcher opens the link before it forwards a join, so that what the node
 * says right after the join (e.g. `publisherReady`) is not lost before signalling listens.
 *
 * Lifecycle: created by a join or the first listener → listen()… → close() once the dispatcher
 * has neither participants nor listeners in the room.
 */
export class RoomLink {
  readonly roomId: RoomId;
  /** The node streamed from now, if any. */
  nodeId: NodeId | undefined;
  readonly #deps: RoomLinkDeps;
  readonly #listeners = new Set<(event: SfuEvent) => void>();
  readonly #buffer: SfuEvent[] = [];
  /** Wakes each listener's wait (so that close() ends the iterations). */
  readonly #wakers = new Set<() => void>();
  /** The node whose stream is known to be attached (its listener is registered there). */
  #openedNode: NodeId | undefined;
  #openedWaiters = new Set<() => void>();
  #stream: AbortController | null = null;
  #wakeLoop: (() => void) | null = null;
  #running = false;
  #closed = false;

  constructor(roomId: RoomId, deps: RoomLinkDeps) {
    this.roomId = roomId;
    this.#deps = deps;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  async *listen(signal: AbortSignal): AsyncIterable<SfuEvent> {
    const queue: SfuEvent[] = [];
    let wake: (() => void) | null = null;
    const listener = (event: SfuEvent) => {
      queue.push(event);
      wake?.();
    };
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) queue.push(...this.#buffer.splice(0));
    const onAbort = () => wake?.();
    this.#wakers.add(onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
    if (!this.#running) this.#start();
    try {
      while (!signal.aborted && !this.#closed) {
        const event = queue.shift();
        if (event) {
          yield event;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#listeners.delete(listener);
      this.#wakers.delete(onAbort);
    }
  }

  /** Hands an event (e.g. the dispatcher's own `participantLost`) to every listener. */
  deliver(event: SfuEvent): void {
    if (this.#listeners.size === 0) {
      if (this.#buffer.length < BUFFER_LIMIT) this.#buffer.push(event);
      return;
    }
    for (const listener of this.#listeners) listener(event);
  }

  /** Starts following the room without a listener (events are kept for the first one). */
  open(): void {
    if (!this.#running && !this.#closed) this.#start();
    this.wake();
  }

  /** Resolves once the stream from `nodeId` is attached, or after `timeoutMs` (false then). */
  opened(nodeId: NodeId, timeoutMs: number): Promise<boolean> {
    if (this.#openedNode === nodeId) return Promise.resolve(true);
    return new Promise((resolve) => {
      const cancel = this.#deps.clock.setTimeout(() => {
        this.#openedWaiters.delete(check);
        resolve(false);
      }, timeoutMs);
      const check = () => {
        if (this.#openedNode !== nodeId) return;
        cancel();
        this.#openedWaiters.delete(check);
        resolve(true);
      };
      this.#openedWaiters.add(check);
    });
  }

  /** The room may have a host now: stop waiting. */
  wake(): void {
    this.#wakeLoop?.();
  }

  /** Drops the current stream and looks the room's node up again. */
  restart(): void {
    this.#stream?.abort();
    this.wake();
  }

  close(): void {
    this.#closed = true;
    this.#buffer.length = 0;
    this.restart();
    for (const wake of this.#wakers) wake();
  }

  #start(): void {
    this.#running = true;
    this.#run()
      .catch((err: unknown) => this.#deps.logger.error({ err }, 'room event link failed'))
      .finally(() => {
        this.#running = false;
      });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const nodeId = await this.#deps.resolveNode().catch((err: unknown) => {
        this.#deps.logger.warn({ err }, 'room host lookup failed');
        return undefined;
      });
      if (this.#closed) return;
      if (!nodeId) {
        await this.#sleep(IDLE_POLL_MS);
        continue;
      }
      if (await this.#streamFrom(nodeId)) await this.#sleep(RETRY_PAUSE_MS);
    }
  }

  /** Forwards the node's events until the stream ends; true when it broke on the node's side. */
  async #streamFrom(nodeId: NodeId): Promise<boolean> {
    const stream = new AbortController();
    this.#stream = stream;
    this.nodeId = nodeId;
    try {
      const client = this.#deps.client(nodeId);
      const iterator = client.events(this.roomId, stream.signal)[Symbol.asyncIterator]();
      // The first next() sends the request; a round trip after it means the node has attached the
      // stream (the server handles a connection's calls in order).
      let next = iterator.next();
      void this.#confirmOpened(nodeId, client, stream.signal);
      for (;;) {
        const step = await next;
        if (step.done) break;
        this.#deps.onEvent(step.value);
        this.deliver(step.value);
        next = iterator.next();
      }
      if (stream.signal.aborted || this.#closed) return false;
      await this.#deps.onStreamFailed(nodeId, new Error('event stream ended'));
      return true;
    } catch (err) {
      if (stream.signal.aborted || this.#closed) return false;
      await this.#deps.onStreamFailed(nodeId, err);
      return true;
    } finally {
      this.#stream = null;
      this.nodeId = undefined;
      if (this.#openedNode === nodeId) this.#openedNode = undefined;
    }
  }

  async #confirmOpened(nodeId: NodeId, client: SfuApi, signal: AbortSignal): Promise<void> {
    // A failure here shows up on the stream itself; the waiters time out.
    const answered = await client.dump().then(
      () => true,
      () => false,
    );
    if (!answered || signal.aborted || this.nodeId !== nodeId) return;
    this.#openedNode = nodeId;
    for (const check of [...this.#openedWaiters]) check();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = this.#deps.clock.setTimeout(() => done(), ms);
      const done = () => {
        cancel();
        this.#wakeLoop = null;
        resolve();
      };
      this.#wakeLoop = done;
    });
  }
}
