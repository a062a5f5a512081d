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

/** How long to wait before looking for the room's node again when no node hosts it. */
const IDLE_POLL_MS = 500;
/** Pause after a broken stream of a node that still answers, so a failing stream cannot spin. */
const RETRY_PAUSE_MS = 250;

/**
 * One room's event stream from whichever node hosts it, shared by the dispatcher's `events()`
 * iterators of that room. It follows the room: when its node is lost or the room moves, the
 * stream is reopened on the new host.
 *
 * Lifecycle: created by the first listener → listen()… → close() once the last listener left.
 */
export class RoomLink {
  readonly roomId: RoomId;
  /** The node streamed from now, if any. */
  nodeId: NodeId | undefined;
  readonly #deps: RoomLinkDeps;
  readonly #listeners = new Set<(event: SfuEvent) => void>();
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
    const onAbort = () => wake?.();
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
    }
  }

  /** Hands an event (e.g. the dispatcher's own `participantLost`) to every listener. */
  deliver(event: SfuEvent): void {
    for (const listener of this.#listeners) listener(event);
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
    this.restart();
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
      for await (const event of this.#deps.client(nodeId).events(this.roomId, stream.signal)) {
        this.#deps.onEvent(event);
        this.deliver(event);
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
    }
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
