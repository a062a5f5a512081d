import type { ParticipantId } from '../../lib/ids.ts';
import { LayerAllocator } from '../qos/layer-allocator.ts';
import type { AllocationGroup, Subscription } from './subscription.ts';
import { type AllocationInput, budgetFor, observeAllocation } from './subscription-allocation.ts';

/** What an allocation run had and gave: the subscriber's total estimate and the video bitrate allocated. */
interface Allocated {
  estimateBps: number;
  usedBps: number;
  inputs: AllocationInput[];
}

/** Members' once-a-second timers within this of the last periodic run are skipped. */
const PERIODIC_MIN_INTERVAL_MS = 900;

/**
 * One subscriber's downlink, shared by its connections (the Waterbus topology gives a subscriber
 * one connection per publisher it watches). Each connection keeps its own estimator, and their
 * estimates add up to what the subscriber's link carries (flows through one bottleneck share it);
 * one LayerAllocator then spreads that total over every video track the subscriber receives, so
 * that a screen share, then the active speaker, is served before the other cameras, whichever
 * publishers they come from.
 *
 * When a track is held back, the connection carrying the first such track (in priority order)
 * probes for the step up; its estimate rises with what the probe proves, and so does the total.
 *
 * Lifecycle: created with the subscriber's first subscription in a room, dropped (`onEmpty`) when
 * its last one closes.
 */
export class SubscriberBudget implements AllocationGroup {
  readonly subscriberId: ParticipantId;
  readonly #subscriptions = new Set<Subscription>();
  readonly #allocator = new LayerAllocator();
  readonly #onEmpty: () => void;
  #activeSpeakers: ReadonlySet<ParticipantId> = new Set();
  #allocating = false;
  /** When the last periodic allocation ran: each member's timer fires once a second, one run is enough. */
  #lastTickMs = Number.NEGATIVE_INFINITY;

  constructor(options: { subscriberId: ParticipantId; onEmpty: () => void }) {
    this.subscriberId = options.subscriberId;
    this.#onEmpty = options.onEmpty;
  }

  get size(): number {
    return this.#subscriptions.size;
  }

  add(subscription: Subscription): void {
    this.#subscriptions.add(subscription);
    subscription.group = this;
  }

  remove(subscription: Subscription): void {
    if (!this.#subscriptions.delete(subscription)) return;
    if (subscription.group === this) subscription.group = undefined;
    if (this.#subscriptions.size === 0) this.#onEmpty();
    else this.allocate();
  }

  /** The room's active speakers: their cameras come right after screen shares. */
  setActiveSpeakers(ids: ReadonlySet<ParticipantId>): void {
    this.#activeSpeakers = ids;
  }

  /** The periodic allocation; the worker's estimate histograms count this run only (once a second). */
  tick(nowMs: number): void {
    if (nowMs - this.#lastTickMs < PERIODIC_MIN_INTERVAL_MS) return;
    this.#lastTickMs = nowMs;
    const done = this.#allocateOnce();
    if (done) observeAllocation(done.estimateBps, done.usedBps, done.inputs);
  }

  /** Allocates the subscriber's total estimate across all its connections' video tracks. */
  allocate(): void {
    this.#allocateOnce();
  }

  #allocateOnce(): Allocated | undefined {
    // A connection's probe, started from here, may call back into allocate: once is enough.
    if (this.#allocating) return undefined;
    this.#allocating = true;
    try {
      return this.#allocate();
    } finally {
      this.#allocating = false;
    }
  }

  #allocate(): Allocated | undefined {
    const parts: Array<{ subscription: Subscription; input: AllocationInput; from: number }> = [];
    let estimate = 0;
    let from = 0;
    for (const subscription of this.#subscriptions) {
      const own = subscription.estimateBps;
      // No estimate yet: its tracks follow `preferred` until its feedback arrives.
      if (own === undefined) continue;
      estimate += own;
      const input = subscription.allocationInput(this.#activeSpeakers.has(subscription.targetId));
      parts.push({ subscription, input, from });
      from += input.tracks.length;
    }
    if (from === 0) return undefined;
    const inputs = parts.map((p) => p.input);
    const allocation = this.#allocator.allocate(
      budgetFor(estimate, inputs),
      inputs.flatMap((i) => i.tracks),
    );
    for (const part of parts)
      part.subscription.applyAllocation(
        part.input,
        allocation.tracks.slice(part.from, part.from + part.input.tracks.length),
      );
    const done = { estimateBps: estimate, usedBps: allocation.usedBps, inputs };
    if (allocation.probeGoalBps === undefined) return done;
    // The connection of the first held-back track in priority order probes, in its own terms.
    const prober = this.#proberFor(parts, allocation.tracks);
    if (!prober) return done;
    const own = allocation.tracks
      .slice(prober.from, prober.from + prober.input.tracks.length)
      .reduce((sum, t) => sum + t.bitrateBps, 0);
    const ceiling = allocation.probeCeilingBps ?? allocation.probeGoalBps;
    prober.subscription.probe(
      own + allocation.probeGoalBps - allocation.usedBps,
      own + ceiling - allocation.usedBps,
      own,
    );
    return done;
  }

  #proberFor<P extends { input: AllocationInput; from: number }>(
    parts: readonly P[],
    tracks: ReadonlyArray<{ deficient: boolean }>,
  ): P | undefined {
    let best: P | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const part of parts) {
      part.input.tracks.forEach((t, i) => {
        if (!tracks[part.from + i]?.deficient || t.paused) return;
        const rank = t.screenShare ? 0 : t.activeSpeaker ? 1 : 2;
        if (rank < bestRank) {
          bestRank = rank;
          best = part;
        }
      });
    }
    return best;
  }
}
