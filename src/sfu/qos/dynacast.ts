import type { Clock } from '../../lib/clock.ts';

export interface DynacastOptions {
  clock: Clock;
  /** Simulcast layers the publisher sends for this track (e.g. 3). */
  layerCount: number;
  /** A layer nobody needs any more is stopped after this long (default 5000 ms), in case it is wanted back. */
  stopDelayMs?: number;
  /** Called with the spatial layers the publisher should send (true) or stop (false), on change only. */
  onLayersChanged: (active: readonly boolean[]) => void;
}

/**
 * Dynacast for one published video track: the publisher sends only the simulcast layers some
 * subscriber can use (LiveKit's dynacast, mediasoup's "consumer-driven" producer layers).
 * Each subscriber reports the highest spatial layer it may want; the track needs layers
 * 0..max over all subscribers. A layer wanted again resumes at once (a subscriber waits for it);
 * a layer no longer wanted stops only after `stopDelayMs` without demand, so that a layer
 * switching back and forth (a thumbnail resized, an estimate hovering) does not flap.
 *
 * Feed it the subscriber's *wish* — `preferred`, or -1 when paused or invisible — not the
 * allocator's bandwidth-limited `target`: a layer the publisher stopped has no measured bitrate,
 * so an allocator could never choose it again.
 *
 * Lifecycle: one per published video track (UpTrack); `close()` cancels a pending stop.
 */
export class Dynacast {
  readonly #clock: Clock;
  readonly #layerCount: number;
  readonly #stopDelayMs: number;
  readonly #onLayersChanged: (active: readonly boolean[]) => void;
  readonly #wanted = new Map<string, number>();
  /** Per layer: when demand for it last ended (+∞ while it is wanted). */
  readonly #releasedAtMs: Float64Array;
  #demand = -1;
  /** Highest layer the publisher is told to send; starts with all of them (what browsers do). */
  #sentMax: number;
  #cancelStop: (() => void) | undefined;
  #closed = false;

  constructor(options: DynacastOptions) {
    if (!Number.isInteger(options.layerCount) || options.layerCount < 1)
      throw new TypeError('layerCount must be a positive integer');
    this.#clock = options.clock;
    this.#layerCount = options.layerCount;
    this.#stopDelayMs = options.stopDelayMs ?? 5000;
    this.#onLayersChanged = options.onLayersChanged;
    this.#sentMax = options.layerCount - 1;
    // Nobody wants anything yet: without subscribers the layers stop after the delay.
    this.#releasedAtMs = new Float64Array(options.layerCount).fill(this.#clock.nowMs());
    this.#scheduleStop();
  }

  /** The layers the publisher is currently asked to send. */
  get activeLayers(): boolean[] {
    return Array.from({ length: this.#layerCount }, (_, i) => i <= this.#sentMax);
  }

  /** The highest spatial layer `subscriberId` may want of this track; -1 for none (paused, hidden). */
  setSubscriberMaxLayer(subscriberId: string, spatial: number): void {
    if (!Number.isInteger(spatial)) throw new TypeError('spatial must be an integer');
    this.#wanted.set(subscriberId, Math.max(-1, Math.min(spatial, this.#layerCount - 1)));
    this.#reconcile();
  }

  /** The subscriber stopped consuming this track. */
  removeSubscriber(subscriberId: string): void {
    if (this.#wanted.delete(subscriberId)) this.#reconcile();
  }

  close(): void {
    this.#closed = true;
    this.#cancelPendingStop();
  }

  #reconcile(): void {
    if (this.#closed) return;
    let demand = -1;
    for (const spatial of this.#wanted.values()) demand = Math.max(demand, spatial);
    const now = this.#clock.nowMs();
    for (let l = demand + 1; l <= this.#demand; l++) this.#releasedAtMs[l] = now;
    for (let l = 0; l <= demand; l++) this.#releasedAtMs[l] = Number.POSITIVE_INFINITY;
    this.#demand = demand;
    // Someone waits for these layers: resume at once.
    if (demand > this.#sentMax) this.#apply(demand);
    this.#scheduleStop();
  }

  /** Stops every layer above demand released at least `stopDelayMs` ago, then plans the next stop. */
  #stopDue(): void {
    this.#cancelStop = undefined;
    const now = this.#clock.nowMs();
    let max = this.#sentMax;
    while (max > this.#demand && now - this.#releasedAtMs[max]! >= this.#stopDelayMs) max--;
    this.#apply(max);
    this.#scheduleStop();
  }

  /** Arms one timer for the top sent layer that nobody wants, when its delay runs out. */
  #scheduleStop(): void {
    this.#cancelPendingStop();
    if (this.#closed || this.#sentMax <= this.#demand) return;
    const dueInMs = this.#releasedAtMs[this.#sentMax]! + this.#stopDelayMs - this.#clock.nowMs();
    this.#cancelStop = this.#clock.setTimeout(() => this.#stopDue(), Math.max(0, dueInMs));
  }

  #apply(max: number): void {
    if (max === this.#sentMax) return;
    this.#sentMax = max;
    this.#onLayersChanged(this.activeLayers);
  }

  #cancelPendingStop(): void {
    this.#cancelStop?.();
    this.#cancelStop = undefined;
  }
}
