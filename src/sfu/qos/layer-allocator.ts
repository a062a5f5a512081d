import { NO_LAYER, type VideoLayer } from './video-layer.ts';

/** What the allocator needs to know of one of the subscriber's video DownTracks. */
export interface AllocatorTrack {
  trackId: string;
  /** Screen shares are served first, then the active speaker, then higher `priority`, then input order. */
  screenShare?: boolean;
  activeSpeaker?: boolean;
  priority?: number;
  /** The subscriber paused it (or muted it): it gets nothing. */
  paused: boolean;
  /** Its view is on screen; an invisible track gets nothing. */
  visible: boolean;
  /** The subscriber's wish: a ceiling, never exceeded unless only higher layers are sent. */
  preferred: VideoLayer;
  /**
   * Measured bps of forwarding spatial layer s with temporal layers 0..t, as `bitratesBps[s][t]`
   * (cumulative over temporal layers, as LiveKit's Bitrates); 0 for a layer not being sent.
   */
  bitratesBps: ReadonlyArray<ReadonlyArray<number>>;
}

export interface TrackAllocation {
  trackId: string;
  /** The layer for `SimulcastSelector.setTarget`; NO_LAYER pauses forwarding. */
  target: VideoLayer;
  /** What the target is expected to cost (0 while nothing is measured). */
  bitrateBps: number;
  /** Held below its preferred layer (or paused) for want of bandwidth. */
  deficient: boolean;
}

export interface Allocation {
  /** One per input track, in input order. */
  tracks: TrackAllocation[];
  usedBps: number;
  /** estimate − used (≥ 0). */
  headroomBps: number;
  /** The total a bandwidth probe should prove for the cheapest held-back upgrade; undefined when none is held back. */
  probeGoalBps: number | undefined;
  /** The total with every held-back track at its preferred layer: more is never worth probing for. */
  probeCeilingBps: number | undefined;
}

interface Rung {
  layer: VideoLayer;
  bitrateBps: number;
}

interface Working {
  track: AllocatorTrack;
  ladder: Rung[];
  /** Index into the ladder, -1 for nothing. */
  chosen: number;
  previous: VideoLayer;
}

/**
 * Turns one subscriber's bandwidth estimate into target layers across its video DownTracks
 * (LiveKit's StreamAllocator, simplified). In priority order, each wanted track first gets its
 * lowest layer while the budget lasts (the rest are paused, deficient); then, again in priority
 * order, each takes the highest layer up to its preferred one that still fits. Paused and
 * invisible tracks get nothing. To avoid flapping at a boundary, a layer above a track's previous
 * target must fit with a margin (`upgradeMargin`, default 10 %).
 *
 * Lifecycle: one per Subscriber; remembers only the last targets.
 */
export class LayerAllocator {
  readonly #upgradeMargin: number;
  #previous = new Map<string, VideoLayer>();

  constructor(options: { upgradeMargin?: number } = {}) {
    this.#upgradeMargin = options.upgradeMargin ?? 0.1;
  }

  /** Allocates `estimateBps` (minus what audio needs, left to the caller) across `tracks`. */
  allocate(estimateBps: number, tracks: readonly AllocatorTrack[]): Allocation {
    const work = tracks.map((track) => this.#working(track));
    const order = work.filter((w) => wanted(w.track)).sort(byPriority(tracks));
    let budget = Math.max(0, estimateBps);
    for (const w of order) budget -= this.#giveLowest(w, budget);
    for (const w of order) budget -= this.#upgrade(w, budget);
    const allocations = work.map(toAllocation);
    this.#previous = new Map(allocations.map((a) => [a.trackId, a.target]));
    const usedBps = allocations.reduce((sum, a) => sum + a.bitrateBps, 0);
    return {
      tracks: allocations,
      usedBps,
      headroomBps: Math.max(0, estimateBps - usedBps),
      probeGoalBps: probeGoal(order, usedBps),
      probeCeilingBps: probeCeiling(order, usedBps),
    };
  }

  #working(track: AllocatorTrack): Working {
    const previous = this.#previous.get(track.trackId) ?? NO_LAYER;
    return { track, ladder: wanted(track) ? ladderOf(track) : [], chosen: -1, previous };
  }

  /**
   * Gives the cheapest rung if it fits; returns what it costs. No upgrade margin here: the
   * cheapest layer is the least a wanted track gets, and the caller's budget covers it.
   */
  #giveLowest(w: Working, budget: number): number {
    const first = w.ladder[0];
    if (!first || first.bitrateBps > budget) return 0;
    w.chosen = 0;
    return first.bitrateBps;
  }

  /** Moves to the highest rung whose extra cost fits; returns the extra cost. */
  #upgrade(w: Working, budget: number): number {
    if (w.chosen < 0) return 0;
    const base = w.ladder[w.chosen]!.bitrateBps;
    for (let j = w.ladder.length - 1; j > w.chosen; j--) {
      if (this.#cost(w, j) - base > budget) continue;
      w.chosen = j;
      return w.ladder[j]!.bitrateBps - base;
    }
    return 0;
  }

  /** The price of rung j for the fit test: with the margin when it would go above the previous target. */
  #cost(w: Working, j: number): number {
    const rung = w.ladder[j]!;
    return isAbove(rung.layer, w.previous) ? rung.bitrateBps * (1 + this.#upgradeMargin) : rung.bitrateBps;
  }
}

function wanted(track: AllocatorTrack): boolean {
  return !track.paused && track.visible && track.preferred.spatial >= 0 && track.preferred.temporal >= 0;
}

/**
 * The layers a track may take, cheapest first (spatial, then temporal): those being sent up to
 * `preferred`; if only higher ones are sent, the lowest of them; if nothing is measured yet, the
 * base spatial layer at no cost, so that the selector starts with what arrives.
 */
function ladderOf(track: AllocatorTrack): Rung[] {
  const ladder: Rung[] = [];
  let lowestSent: Rung | undefined;
  track.bitratesBps.forEach((temporals, spatial) => {
    temporals.forEach((bitrateBps, temporal) => {
      if (!(bitrateBps > 0)) return;
      const rung = { layer: { spatial, temporal }, bitrateBps };
      lowestSent ??= rung;
      if (spatial <= track.preferred.spatial && temporal <= track.preferred.temporal) ladder.push(rung);
    });
  });
  if (ladder.length > 0) return ladder;
  if (lowestSent) return [lowestSent];
  return [{ layer: { spatial: 0, temporal: track.preferred.temporal }, bitrateBps: 0 }];
}

function rank(track: AllocatorTrack): number {
  if (track.screenShare) return 0;
  return track.activeSpeaker ? 1 : 2;
}

function byPriority(input: readonly AllocatorTrack[]): (a: Working, b: Working) => number {
  return (a, b) =>
    rank(a.track) - rank(b.track) ||
    (b.track.priority ?? 0) - (a.track.priority ?? 0) ||
    input.indexOf(a.track) - input.indexOf(b.track);
}

function isAbove(a: VideoLayer, b: VideoLayer): boolean {
  return a.spatial > b.spatial || (a.spatial === b.spatial && a.temporal > b.temporal);
}

function toAllocation(w: Working): TrackAllocation {
  const rung = w.chosen >= 0 ? w.ladder[w.chosen] : undefined;
  return {
    trackId: w.track.trackId,
    target: rung ? { ...rung.layer } : { ...NO_LAYER },
    bitrateBps: rung?.bitrateBps ?? 0,
    deficient: w.ladder.length > 0 && w.chosen < w.ladder.length - 1,
  };
}

/** used + the cheapest next step of any held-back track. */
function probeGoal(order: readonly Working[], usedBps: number): number | undefined {
  let cheapest = Number.POSITIVE_INFINITY;
  for (const w of order) {
    const next = w.ladder[w.chosen + 1];
    if (!next) continue;
    const current = w.chosen >= 0 ? w.ladder[w.chosen]!.bitrateBps : 0;
    cheapest = Math.min(cheapest, next.bitrateBps - current);
  }
  return Number.isFinite(cheapest) ? usedBps + cheapest : undefined;
}

/** used + every held-back track's step up to its best rung (undefined when none is held back). */
function probeCeiling(order: readonly Working[], usedBps: number): number | undefined {
  let extra = 0;
  let heldBack = false;
  for (const w of order) {
    const top = w.ladder.at(-1);
    if (!top || w.chosen === w.ladder.length - 1) continue;
    heldBack = true;
    extra += top.bitrateBps - (w.chosen >= 0 ? w.ladder[w.chosen]!.bitrateBps : 0);
  }
  return heldBack ? usedBps + extra : undefined;
}
