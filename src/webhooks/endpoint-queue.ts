import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Send } from './http-sender.ts';

/** What an endpoint's queue reports, for the `bbmeet_webhook_*` metrics. */
export interface EndpointStats {
  sent(): void;
  /** An event given up on: its tries ran out, or the endpoint refused it. */
  failed(): void;
  retried(): void;
  dropped(reason: 'overflow' | 'disabled' | 'shutdown', count: number): void;
  disabled(): void;
}

export interface EndpointQueueOptions {
  send: Send;
  clock: Clock;
  stats: EndpointStats;
  logger: Logger;
  /** Events waiting (all rooms) before the oldest is dropped. */
  maxQueued: number;
  /** Tries per event, the first included. */
  maxAttempts: number;
  /** Wait before the first retry; doubled for each further one. */
  backoffMs: number;
  /** Events given up on in a row (or a whole queue dropped without a delivery) that disable the endpoint. */
  disableAfterFailures: number;
  /** A disabled endpoint gets events again after this long (one failure disables it again). */
  disabledForMs: number;
}

interface Item {
  seq: number;
  body: string;
}

/**
 * One endpoint's deliveries. Each room's events go out one after another, in the order given
 * (the next waits for the previous to be delivered or given up on); rooms go in parallel. A failed
 * attempt that is worth a retry is tried again after an exponential backoff, up to `maxAttempts`.
 * When the waiting events reach `maxQueued`, the oldest is dropped. An endpoint whose events keep
 * failing is disabled for a while (its queue dropped). Lifecycle: push() until close(); flush()
 * waits for the queue to empty; close() aborts what is in flight and drops the rest.
 */
export class EndpointQueue {
  readonly #o: EndpointQueueOptions;
  readonly #rooms = new Map<string, Item[]>();
  /** Rooms with a delivery loop running. */
  readonly #active = new Set<string>();
  readonly #closing = new AbortController();
  readonly #wakeups = new Set<() => void>();
  #idleWaiters: Array<() => void> = [];
  #seq = 0;
  #queued = 0;
  #failuresInRow = 0;
  #droppedSinceDelivery = 0;
  #disabledUntilMs = 0;

  constructor(options: EndpointQueueOptions) {
    this.#o = options;
  }

  /** Events waiting (not counting one being sent per room). */
  get length(): number {
    return this.#queued;
  }

  get disabled(): boolean {
    return this.#o.clock.nowMs() < this.#disabledUntilMs;
  }

  push(roomKey: string, body: string): void {
    const refused = this.#closing.signal.aborted ? 'shutdown' : this.disabled ? 'disabled' : undefined;
    if (refused) {
      this.#o.stats.dropped(refused, 1);
      return;
    }
    if (this.#queued >= this.#o.maxQueued) this.#dropOldest();
    let queue = this.#rooms.get(roomKey);
    if (!queue) {
      queue = [];
      this.#rooms.set(roomKey, queue);
    }
    queue.push({ seq: this.#seq++, body });
    this.#queued++;
    if (!this.#active.has(roomKey)) this.#startLoop(roomKey);
  }

  /** Resolves once nothing waits or is in flight, or after `deadlineMs`; returns what is left. */
  async flush(deadlineMs: number): Promise<number> {
    if (this.#active.size > 0) {
      let cancel = () => {};
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        cancel = this.#o.clock.setTimeout(resolve, deadlineMs);
      });
      cancel();
    }
    return this.#queued + this.#active.size;
  }

  /**
   * Aborts the attempts in flight and drops what waits (counted as dropped at shutdown); resolves
   * once the aborted attempts returned.
   */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      for (const wake of this.#wakeups) wake();
      if (this.#queued > 0) this.#o.stats.dropped('shutdown', this.#queued);
      this.#rooms.clear();
      this.#queued = 0;
    }
    if (this.#active.size > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #startLoop(roomKey: string): void {
    this.#active.add(roomKey);
    // Never rejects (#deliver catches everything); the catch only guards a bug from going unnoticed.
    this.#loop(roomKey).catch((err: unknown) => {
      this.#o.logger.error({ err }, 'webhook delivery loop failed');
      this.#loopEnded(roomKey);
    });
  }

  /** Synchronous with the queue's last check, so a push never finds a loop that is ending. */
  #loopEnded(roomKey: string): void {
    this.#rooms.delete(roomKey);
    this.#active.delete(roomKey);
    if (this.#active.size === 0) this.#notifyIdle();
  }

  async #loop(roomKey: string): Promise<void> {
    for (;;) {
      const queue = this.#rooms.get(roomKey);
      const item = queue?.shift();
      if (!queue || !item) return this.#loopEnded(roomKey);
      this.#queued--;
      await this.#deliver(item);
    }
  }

  async #deliver(item: Item): Promise<void> {
    const { send, maxAttempts, backoffMs, stats } = this.#o;
    for (let attempt = 1; ; attempt++) {
      if (this.#closing.signal.aborted) return stats.dropped('shutdown', 1);
      const outcome = await send(item.body, this.#closing.signal);
      if (outcome.ok) {
        stats.sent();
        this.#failuresInRow = 0;
        this.#droppedSinceDelivery = 0;
        return;
      }
      if (this.#closing.signal.aborted) return stats.dropped('shutdown', 1);
      if (!outcome.retry || attempt >= maxAttempts) {
        this.#o.logger.warn({ reason: outcome.reason, attempts: attempt }, 'webhook delivery failed');
        stats.failed();
        this.#failuresInRow++;
        return this.#disableIfFailing();
      }
      stats.retried();
      await this.#sleep(backoffMs * 2 ** (attempt - 1));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.#wakeups.delete(wake);
        cancel();
        resolve();
      };
      const cancel = this.#o.clock.setTimeout(wake, ms);
      this.#wakeups.add(wake);
    });
  }

  #dropOldest(): void {
    let oldest: { key: string; seq: number } | undefined;
    for (const [key, queue] of this.#rooms) {
      const head = queue[0];
      if (head && (!oldest || head.seq < oldest.seq)) oldest = { key, seq: head.seq };
    }
    if (!oldest) return;
    this.#rooms.get(oldest.key)?.shift();
    this.#queued--;
    this.#o.stats.dropped('overflow', 1);
    this.#droppedSinceDelivery++;
    this.#disableIfFailing();
  }

  /** Why: a dead receiver would otherwise hold every room's events for its whole retry schedule. */
  #disableIfFailing(): void {
    const { disableAfterFailures, maxQueued } = this.#o;
    if (this.#failuresInRow < disableAfterFailures && this.#droppedSinceDelivery < maxQueued) return;
    const dropped = this.#queued;
    this.#disabledUntilMs = this.#o.clock.nowMs() + this.#o.disabledForMs;
    // One failure after the pause disables it again; a delivery resets both counts.
    this.#failuresInRow = disableAfterFailures - 1;
    this.#droppedSinceDelivery = 0;
    this.#rooms.clear();
    this.#queued = 0;
    if (dropped > 0) this.#o.stats.dropped('disabled', dropped);
    this.#o.stats.disabled();
    this.#o.logger.error(
      { dropped, disabledForMs: this.#o.disabledForMs },
      'webhook endpoint disabled after repeated failures',
    );
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
