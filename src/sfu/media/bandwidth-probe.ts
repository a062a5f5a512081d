/**
 * The bandwidth probe of one subscription: padding on RTX for a short burst, whose packets form a
 * probe cluster that the transport-cc feedback judges (ProbeBitrateEstimator), then when the next
 * probe may start (soon after a success, backing off after failures, later after congestion).
 * Not the estimate itself (SendSideEstimator) and not the choice of layers it serves (LayerAllocator).
 *
 * Lifecycle: created with its subscription → probe()… → stop() when the subscription closes.
 */

import type { Clock } from '../../lib/clock.ts';
import type { ProbeResult } from '../qos/probe-bitrate-estimator.ts';
import type { SendSideEstimator } from '../qos/send-side-estimator.ts';
import type { DownTrack } from './down-track.ts';

/**
 * Probe: padding for this long (a burst short enough not to fill a slow link's queue for long),
 * then the result is awaited from the feedback covering it, at most PROBE_RESULT_TIMEOUT_MS.
 */
const PROBE_DURATION_MS = 200;
const PROBE_RESULT_TIMEOUT_MS = 1000;
const PROBE_TICK_MS = 20;
/** A probe aims at most this many times what is proven (estimate or what is sent), exponential steps. */
const PROBE_STEP = 2;
/** Between probes: this long after a successful one, doubling from the first value after failures. */
const PROBE_AFTER_SUCCESS_MS = 300;
const PROBE_BACKOFF_FIRST_MS = 1500;
const PROBE_BACKOFF_MAX_MS = 4000;
/** A probe that could not send at least this fraction of its rate (timers late under load) proved nothing. */
const PROBE_MIN_SENT_RATIO = 0.8;
/** No probe this long after the estimate fell. */
const PROBE_AFTER_DROP_MS = 1500;

export interface BandwidthProbeOptions {
  clock: Clock;
  estimator: SendSideEstimator;
  /** Whether a probe may run at all: transport-cc feedback came and the transport is connected. */
  canProbe: () => boolean;
  /** The video DownTrack that pads (one with RTX), if any. */
  padder: () => DownTrack | undefined;
  /** Reallocates layers (after a probe's verdict). */
  allocate: () => void;
}

export class BandwidthProbe {
  readonly #options: BandwidthProbeOptions;
  #stopTimer: (() => void) | undefined;
  #goalBps = 0;
  #startEstimate = 0;
  #targetBps = 0;
  /** The running probe's cluster id (every packet sent meanwhile belongs to it), -1 when none. */
  #cluster = -1;
  #nextCluster = 0;
  #awaitedCluster = -1;
  #nextProbeMs = 0;
  #backoffMs = PROBE_BACKOFF_FIRST_MS;
  sent = 0;
  succeeded = 0;

  constructor(options: BandwidthProbeOptions) {
    this.#options = options;
  }

  /** The cluster of a packet sent now: the running probe's, -1 when none. */
  get cluster(): number {
    return this.#cluster;
  }

  /**
   * For PROBE_DURATION_MS, pad on RTX so that what is sent reaches the probe rate; every packet
   * sent meanwhile forms a probe cluster, and the rate it arrived at (transport-cc feedback)
   * raises the estimate when the path carried it (ProbeBitrateEstimator). The rate is at least
   * the cheapest held-back upgrade, at most the full wish (`ceilingBps`) with a margin, and at
   * most PROBE_STEP × what is proven: a capped link sees a short burst, a free one is found in a
   * few doubling steps.
   */
  probe(goalBps: number, ceilingBps: number, usedBps: number): void {
    const { clock, estimator } = this.#options;
    if (this.#stopTimer || !this.#options.canProbe()) return;
    const now = clock.nowMs();
    if (now < this.#nextProbeMs) return;
    // Only on a calm link: no overuse and no loss worth the name right now.
    if (estimator.usage === 'overusing' || estimator.lossFraction > 0.02) return;
    const padder = this.#options.padder();
    if (!padder) return;
    const estimate = estimator.estimateBps;
    const proven = Math.max(estimate, usedBps);
    const target = Math.min(PROBE_STEP * proven, Math.max(goalBps, ceilingBps) * 1.15);
    const padBps = target - Math.max(usedBps, 0);
    if (padBps <= 0 || target <= estimate) return;
    this.sent++;
    this.#goalBps = goalBps;
    this.#startEstimate = estimate;
    const cluster = this.#nextCluster++;
    this.#cluster = cluster;
    const stopPadding = this.#pad(padder, padBps, now);
    this.#targetBps = target;
    this.#awaitResult(cluster, stopPadding);
  }

  /** Pads at `padBps` from `startMs` on; returns what stops it. */
  #pad(padder: DownTrack, padBps: number, startMs: number): () => void {
    const { clock, estimator } = this.#options;
    // Padding owed by the clock, not per tick: a late timer catches up (at most three ticks' worth).
    const bytesPerMs = padBps / 8 / 1000;
    let padded = 0;
    const pad = () => {
      if (estimator.usage === 'overusing') return;
      const owed = Math.min(
        bytesPerMs * (clock.nowMs() - startMs + PROBE_TICK_MS) - padded,
        3 * bytesPerMs * PROBE_TICK_MS,
      );
      if (owed > 0) padded += padder.sendPadding(owed);
    };
    const stopPadding = clock.setInterval(pad, PROBE_TICK_MS);
    pad();
    return stopPadding;
  }

  /** After PROBE_DURATION_MS the cluster ends and its verdict is awaited (at most PROBE_RESULT_TIMEOUT_MS). */
  #awaitResult(cluster: number, stopPadding: () => void): void {
    const { clock, estimator } = this.#options;
    const stopWait = { cancel: (): void => undefined };
    const stopEnd = clock.setTimeout(() => {
      stopPadding();
      this.#cluster = -1;
      this.#awaitedCluster = cluster;
      estimator.endProbeCluster(cluster);
      this.checkResult();
      if (this.#awaitedCluster === cluster)
        stopWait.cancel = clock.setTimeout(
          () => this.#done(estimator.judgeProbeCluster(cluster)),
          PROBE_RESULT_TIMEOUT_MS,
        );
    }, PROBE_DURATION_MS);
    this.#stopTimer = () => {
      stopPadding();
      stopEnd();
      stopWait.cancel();
      this.#cluster = -1;
      this.#awaitedCluster = -1;
    };
  }

  /** After feedback: the awaited probe's result, if it came. */
  checkResult(): void {
    if (this.#awaitedCluster < 0) return;
    const result = this.#options.estimator.takeProbeResult();
    if (result && result.clusterId === this.#awaitedCluster) this.#done(result);
  }

  /** The estimate fell (the link is congested): a running probe stops, the next waits for things to settle. */
  congested(): void {
    this.stop();
    this.#nextProbeMs = Math.max(this.#nextProbeMs, this.#options.clock.nowMs() + PROBE_AFTER_DROP_MS);
  }

  stop(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
  }

  #done(result: ProbeResult | undefined): void {
    const { clock, estimator, allocate } = this.#options;
    this.stop();
    const now = clock.nowMs();
    const estimate = estimator.estimateBps;
    if (result && !result.saturated && result.sendBps < PROBE_MIN_SENT_RATIO * this.#targetBps) {
      // Not sent at its rate (the event loop was late): no verdict on the link, try again soon.
      this.#nextProbeMs = now + PROBE_AFTER_SUCCESS_MS;
    } else if (result && (estimate >= this.#goalBps || estimate > this.#startEstimate * 1.2)) {
      this.succeeded++;
      this.#backoffMs = PROBE_BACKOFF_FIRST_MS;
      this.#nextProbeMs = now + PROBE_AFTER_SUCCESS_MS;
      allocate();
      // The next step up, once the allocation took this one.
      clock.setTimeout(() => allocate(), PROBE_AFTER_SUCCESS_MS);
    } else {
      this.#nextProbeMs = now + this.#backoffMs;
      this.#backoffMs = Math.min(PROBE_BACKOFF_MAX_MS, this.#backoffMs * 2);
      allocate();
    }
  }
}
