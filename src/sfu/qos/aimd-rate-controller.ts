import type { BandwidthUsage } from './overuse-detector.ts';

/** A_hat(i) = β · R_hat(i) on overuse (draft-ietf-rmcat-gcc-02 §5.5). */
const BETA = 0.85;
/** Multiplicative increase: η = 1.08 per second, far from the last known link capacity. */
const ETA_PER_SECOND = 1.08;
/** The estimate may not run ahead of what was acknowledged by more than this (draft §5.5: 1.5). */
const MAX_ACKED_RATIO = 1.5;
const ACKED_SLACK_BPS = 10_000;
const MIN_ADDITIVE_BPS_PER_SECOND = 4_000;
const MTU_BITS = 1200 * 8;

export type RateControlState = 'hold' | 'increase' | 'decrease';

/**
 * The AIMD rate controller of draft-ietf-rmcat-gcc-02 §5.5: overuse → decrease to 0.85 × the
 * acknowledged throughput, underuse → hold, normal → increase (multiplicatively, or additively,
 * about one packet per response time, when near the link capacity seen at the last decrease).
 */
export class AimdRateController {
  readonly #minBps: number;
  readonly #maxBps: number;
  #estimateBps: number;
  #state: RateControlState = 'increase';
  #lastChangeMs = -1;
  #lastDecreaseMs = Number.NEGATIVE_INFINITY;
  /** Running average of acked throughput at decreases (the link capacity), and its variance. */
  #capacityBps: number | undefined;
  #capacityVariance = 0.4;

  constructor(options: { startBps: number; minBps: number; maxBps: number }) {
    this.#minBps = options.minBps;
    this.#maxBps = options.maxBps;
    this.#estimateBps = options.startBps;
  }

  get estimateBps(): number {
    return this.#estimateBps;
  }

  get state(): RateControlState {
    return this.#state;
  }

  /** A probe proved the path carries `bps`: the estimate jumps there, and the old capacity is forgotten. */
  raiseTo(bps: number): void {
    if (!(bps > this.#estimateBps)) return;
    this.#estimateBps = Math.min(this.#maxBps, bps);
    this.#capacityBps = undefined;
  }

  update(usage: BandwidthUsage, ackedBps: number | undefined, nowMs: number, rttMs: number): number {
    if (this.#lastChangeMs < 0) this.#lastChangeMs = nowMs;
    if (usage === 'overusing') {
      const reduce = this.#timeToReduceFurther(ackedBps, nowMs, rttMs);
      this.#state = reduce ? 'decrease' : 'hold';
    } else if (usage === 'underusing') this.#state = 'hold';
    else if (this.#state === 'hold') this.#state = 'increase';
    if (this.#state === 'increase') this.#increase(ackedBps, nowMs, rttMs);
    else if (this.#state === 'decrease') this.#decrease(ackedBps, nowMs);
    this.#lastChangeMs = nowMs;
    this.#estimateBps = Math.min(this.#maxBps, Math.max(this.#minBps, this.#estimateBps));
    return this.#estimateBps;
  }

  /** Overuse persists across feedbacks: reduce again only after an RTT, or if far above throughput. */
  #timeToReduceFurther(ackedBps: number | undefined, nowMs: number, rttMs: number): boolean {
    const intervalMs = Math.min(200, Math.max(10, rttMs));
    if (nowMs - this.#lastDecreaseMs >= intervalMs) return true;
    return ackedBps !== undefined && ackedBps < this.#estimateBps / 2;
  }

  #increase(ackedBps: number | undefined, nowMs: number, rttMs: number): void {
    // Far above what the receiver acknowledges: more would only be a guess (probing's job).
    if (ackedBps !== undefined && this.#estimateBps > MAX_ACKED_RATIO * ackedBps + ACKED_SLACK_BPS) return;
    if (ackedBps !== undefined && this.#capacityBps !== undefined) {
      // Throughput well above the old capacity: the path changed, forget it.
      if (ackedBps > this.#capacityBps + 3 * this.#capacityStdBps()) this.#capacityBps = undefined;
    }
    // The receiver demonstrably took this much: the path carries it (the SFU forwards what the
    // publishers send, so throughput can run ahead of a cautious start estimate).
    if (ackedBps !== undefined && ackedBps > this.#estimateBps) this.#estimateBps = ackedBps;
    const dtMs = Math.max(0, nowMs - this.#lastChangeMs);
    if (this.#capacityBps === undefined) {
      this.#estimateBps *= ETA_PER_SECOND ** Math.min(dtMs / 1000, 1);
    } else {
      this.#estimateBps += (this.#additiveBpsPerSecond(rttMs) * dtMs) / 1000;
    }
  }

  /** About one packet per response time (RTT + 100 ms), at 30 frames per second (draft §5.5). */
  #additiveBpsPerSecond(rttMs: number): number {
    const bitsPerFrame = this.#estimateBps / 30;
    const packetsPerFrame = Math.ceil(bitsPerFrame / MTU_BITS);
    const packetBits = bitsPerFrame / packetsPerFrame;
    return Math.max(MIN_ADDITIVE_BPS_PER_SECOND, (packetBits * 1000) / (rttMs + 100));
  }

  #decrease(ackedBps: number | undefined, nowMs: number): void {
    this.#lastDecreaseMs = nowMs;
    const base = ackedBps ?? this.#estimateBps;
    const decreased = BETA * base;
    // Never raise the estimate on overuse (the acked rate can lag behind a just-lowered estimate).
    if (decreased < this.#estimateBps) this.#estimateBps = decreased;
    if (ackedBps !== undefined) this.#updateCapacity(ackedBps);
    this.#state = 'hold';
  }

  #updateCapacity(ackedBps: number): void {
    if (this.#capacityBps === undefined) {
      this.#capacityBps = ackedBps;
      return;
    }
    if (ackedBps < this.#capacityBps - 3 * this.#capacityStdBps()) this.#capacityBps = ackedBps;
    else this.#capacityBps = 0.95 * this.#capacityBps + 0.05 * ackedBps;
    const norm = Math.max(this.#capacityBps, 1);
    const error = this.#capacityBps - ackedBps;
    this.#capacityVariance = 0.95 * this.#capacityVariance + (0.05 * error * error) / norm;
    this.#capacityVariance = Math.min(2500, Math.max(0.4, this.#capacityVariance));
  }

  #capacityStdBps(): number {
    return Math.sqrt(this.#capacityVariance * (this.#capacityBps ?? 0));
  }
}
