import type { Clock } from '../../lib/clock.ts';
import { isTimestampNewer } from '../../rtp/seq.ts';
import {
  assertVideoLayer,
  HIGHEST_LAYER,
  MAX_SPATIAL_LAYERS,
  MAX_TEMPORAL_LAYERS,
  NO_LAYER,
  type VideoLayer,
} from './video-layer.ts';

/** An urgent down-switch stops the current layer for at most this long without the target's keyframe. */
const URGENT_SWITCH_TIMEOUT_MS = 2000;
/**
 * An urgent down-switch waits at most this long for the bottleneck's queue to drain (see
 * `setTarget`). The switch must land within 2 s of the link shrinking: the estimate takes 0.3-0.9 s
 * to fall, the keyframe ~0.1-0.2 s to come; 1 s of wait pushed a fresh-clone run's switch to
 * 2,078 ms. A longer queue is then only partly drained, which costs a repair, not the switch.
 */
export const MAX_DRAIN_WAIT_MS = 500;
/** Frames of a lower layer with no packet of a higher one that mark the higher one as stopped. */
const LOWER_FRAMES_STOPPED = 8;

/** What the selector reads of one received packet (the UpTrack's parsed `MediaPacket`). */
export interface LayerPacket {
  /** Simulcast stream index, or VP9 spatial id (SID) in SVC mode. */
  spatial: number;
  /** VP8/VP9 temporal id (TID); -1 when the codec carries none (treated as 0). */
  temporal: number;
  /** Simulcast: a keyframe starts here. SVC: the first packet of an intra picture (SID 0, P = 0). */
  keyframe: boolean;
  /** VP8 Y / VP9 U bit: this frame depends on TL0 only, so a higher temporal layer may start here. */
  layerSync?: boolean;
  /** RTP timestamp: temporal and SVC spatial changes take effect only at a new frame. */
  timestamp: number;
  /** RTP marker bit. */
  marker: boolean;
  /** SVC: VP9 E bit or AV1 DD end of frame, the last packet of this spatial layer's frame. */
  endOfFrame?: boolean;
}

/** The decision for one packet. Reused: valid until the next `select()`. */
export interface SelectResult {
  forward: boolean;
  /** `current` changed at this packet (simulcast: a new source starts here; re-base the mungers). */
  switched: boolean;
  /** Waiting to reach this spatial layer: ask the publisher for a keyframe on it (caller throttles). */
  needKeyframe: number | undefined;
  /** The marker bit to send: in SVC mode it moves to the end of the highest forwarded spatial layer. */
  marker: boolean;
}

export interface SimulcastSelectorOptions {
  clock: Clock;
  /** 'simulcast': one SSRC per spatial layer. 'svc': VP9 or AV1 (dependency descriptor) spatial layers in one SSRC. */
  mode?: 'simulcast' | 'svc';
  /** A spatial layer with no packet for this long is considered gone (default 1000 ms). */
  layerTimeoutMs?: number;
}

/**
 * Chooses, packet by packet, what one DownTrack forwards of a layered video track, with the four
 * layer words of docs/simulcast.md: `preferred` (the subscriber's wish, a ceiling), `target` (the
 * LayerAllocator's choice), `current` (forwarded now) and `maxSeen` (what the publisher sends).
 *
 * - Simulcast: `current.spatial` moves only at a keyframe of a layer between current and target
 *   (up or down), or of any layer up to the target when current is none or has stopped.
 * - SVC (VP9): spatial layers ≤ current are forwarded; going up waits for an intra picture, going
 *   down happens at the next picture (lower layers never reference upper ones).
 * - Temporal: layers above `current.temporal` are dropped; it goes down at a new frame and up at a
 *   layer-sync frame or a keyframe.
 *
 * Pure: no I/O, time from the injected clock. Lifecycle: one per DownTrack, dropped with it.
 */
export class SimulcastSelector {
  readonly #clock: Clock;
  readonly #svc: boolean;
  readonly #layerTimeoutMs: number;
  #preferred: VideoLayer = { ...HIGHEST_LAYER };
  /** Undefined until the allocator decides: then the selector follows `preferred`. */
  #target: VideoLayer | undefined;
  readonly #current: VideoLayer = { ...NO_LAYER };
  readonly #lastSeenMs = new Float64Array(MAX_SPATIAL_LAYERS).fill(Number.NEGATIVE_INFINITY);
  readonly #maxTemporalSeen = new Int8Array(MAX_SPATIAL_LAYERS).fill(-1);
  /** Per layer: the RTP timestamp of its last frame, and frames of lower layers seen since its last packet. */
  readonly #lastLayerTimestamp = new Float64Array(MAX_SPATIAL_LAYERS).fill(-1);
  readonly #lowerFramesSince = new Uint16Array(MAX_SPATIAL_LAYERS);
  /** Timestamp of the last frame of `current` looked at, for frame boundaries. */
  #lastTimestamp = 0;
  readonly #effective: VideoLayer = { ...NO_LAYER };
  /** An urgent down-switch waiting for the target's keyframe (since when, ms), -1 for none. */
  #urgentSinceMs = -1;
  /** Simulcast, urgent down-switch: the target's keyframe is neither asked for nor taken before this (ms). */
  #drainUntilMs = Number.NEGATIVE_INFINITY;
  readonly #result: SelectResult = {
    forward: false,
    switched: false,
    needKeyframe: undefined,
    marker: false,
  };

  constructor(options: SimulcastSelectorOptions) {
    this.#clock = options.clock;
    this.#svc = options.mode === 'svc';
    this.#layerTimeoutMs = options.layerTimeoutMs ?? 1000;
  }

  get preferred(): Readonly<VideoLayer> {
    return this.#preferred;
  }

  /** The subscriber's wish (from the signalling edge); throws TypeError when out of range. */
  setPreferred(layer: VideoLayer): void {
    assertVideoLayer(layer);
    this.#preferred = { spatial: layer.spatial, temporal: layer.temporal };
  }

  /** The allocator's choice, or `preferred` while the allocator has not spoken. */
  get target(): Readonly<VideoLayer> {
    return this.#target ?? this.#preferred;
  }

  /**
   * The allocator's choice; NO_LAYER pauses the track. Throws TypeError when out of range. With
   * `urgent` (the link no longer carries the current layer), a lower target also stops forwarding
   * the current layer at once until the switch, for at most URGENT_SWITCH_TIMEOUT_MS: what is sent
   * of it only lengthens the bottleneck's queue, which the target's keyframe must then cross.
   *
   * `drainMs` (simulcast, urgent): how long the bottleneck's queue takes to drain once the current
   * layer stops (bytes in flight over the estimate). The target's keyframe is asked for and taken
   * only after that (at most MAX_DRAIN_WAIT_MS): sent into a full queue, the keyframe's packets are
   * dropped and its repair has to cross the whole queue again, while the subscriber shows nothing
   * (meanwhile it still decodes what the queue holds of the current layer).
   */
  setTarget(layer: VideoLayer, urgent = false, drainMs = 0): void {
    assertVideoLayer(layer);
    this.#target = { spatial: layer.spatial, temporal: layer.temporal };
    if (layer.spatial >= this.#current.spatial) this.#urgentSinceMs = -1;
    else if (urgent && layer.spatial >= 0 && this.#urgentSinceMs < 0) {
      this.#urgentSinceMs = this.#clock.nowMs();
      if (!this.#svc)
        this.#drainUntilMs = this.#urgentSinceMs + Math.min(Math.max(0, drainMs), MAX_DRAIN_WAIT_MS);
    }
  }

  /** An urgent down-switch is waiting for the bottleneck's queue to drain: no keyframe is asked for. */
  get draining(): boolean {
    return this.#urgentSinceMs >= 0 && this.#clock.nowMs() < this.#drainUntilMs;
  }

  get current(): Readonly<VideoLayer> {
    return this.#current;
  }

  /** The highest spatial layer that sent a packet within the timeout, with its highest temporal id. */
  get maxSeen(): VideoLayer {
    const now = this.#clock.nowMs();
    for (let s = MAX_SPATIAL_LAYERS - 1; s >= 0; s--) {
      if (this.#isLive(s, now)) return { spatial: s, temporal: Math.max(0, this.#maxTemporalSeen[s]!) };
    }
    return { ...NO_LAYER };
  }

  /** The caller knows a layer stopped (dynacast paused it, RTCP BYE): do not wait for the timeout. */
  layerStopped(spatial: number): void {
    if (spatial >= 0 && spatial < MAX_SPATIAL_LAYERS) {
      this.#lastSeenMs[spatial] = Number.NEGATIVE_INFINITY;
      this.#maxTemporalSeen[spatial] = -1;
      this.#lastLayerTimestamp[spatial] = -1;
    }
  }

  /**
   * A packet seen but not offered for forwarding (its DownTrack waits for its subscriber to
   * connect): keeps the layers' liveness current, so that the layer chosen at the first keyframe
   * is the target, not the only layer seen so far.
   */
  see(packet: LayerPacket): void {
    this.#see(packet, this.#clock.nowMs());
  }

  select(packet: LayerPacket): SelectResult {
    const now = this.#clock.nowMs();
    this.#see(packet, now);
    const r = this.#result;
    r.forward = false;
    r.switched = false;
    r.needKeyframe = undefined;
    r.marker = packet.marker;
    const target = this.#effectiveTarget(now);
    if (target.spatial < 0) {
      // Paused: forget the current layer so that resuming waits for a keyframe.
      this.#setCurrent(NO_LAYER);
      return r;
    }
    if (this.#svc) this.#selectSvc(packet, target, r, now);
    else this.#selectSimulcast(packet, target, r);
    if (this.#current.spatial !== target.spatial && !this.draining) r.needKeyframe = target.spatial;
    if (this.#urgentSinceMs >= 0) {
      // The allocator's target (a layer being sent); a target that never comes is given up on.
      if (
        r.switched ||
        this.#current.spatial <= this.target.spatial ||
        now - this.#urgentSinceMs > URGENT_SWITCH_TIMEOUT_MS
      )
        this.#urgentSinceMs = -1;
      else r.forward = false;
    }
    return r;
  }

  #selectSimulcast(p: LayerPacket, target: VideoLayer, r: SelectResult): void {
    if (p.spatial !== this.#current.spatial) {
      if (!p.keyframe || !this.#acceptsSwitchTo(p.spatial, target)) return;
      this.#switchAt(p, target, r);
    }
    r.forward = this.#selectTemporal(p, target);
  }

  /** Is a keyframe of layer `s` a place to switch to, given the current and target layers? */
  #acceptsSwitchTo(s: number, target: VideoLayer): boolean {
    const current = this.#current.spatial;
    // Urgent: the layers above the target do not fit the link either, and until the queue has
    // drained no keyframe gets through it whole.
    if (this.#urgentSinceMs >= 0) return s === target.spatial && !this.draining;
    // Nothing forwarded, or the current layer stopped: any layer up to the target beats a freeze.
    if (current < 0 || !this.#isLive(current, this.#clock.nowMs())) return s <= target.spatial;
    if (s > current) return s <= target.spatial;
    return s >= target.spatial;
  }

  #selectSvc(p: LayerPacket, target: VideoLayer, r: SelectResult, now: number): void {
    const current = this.#current;
    const newPicture = current.spatial < 0 || isTimestampNewer(p.timestamp, this.#lastTimestamp);
    if (p.keyframe && current.spatial !== target.spatial) this.#switchAt(p, target, r);
    // Lower spatial layers never reference upper ones: drop them from the next picture on.
    else if (newPicture && current.spatial > target.spatial) {
      current.spatial = target.spatial;
      r.switched = true;
    }
    if (current.spatial < 0) return;
    const temporalOk = this.#selectTemporal(p, target);
    r.forward = temporalOk && p.spatial <= current.spatial;
    const topSent = Math.min(current.spatial, this.#highestLive(now));
    r.marker = p.marker || (r.forward && p.endOfFrame === true && p.spatial === topSent);
  }

  #switchAt(p: LayerPacket, target: VideoLayer, r: SelectResult): void {
    const spatial = this.#svc ? target.spatial : p.spatial;
    // After a keyframe every temporal layer can be decoded.
    this.#setCurrent({ spatial, temporal: target.temporal });
    this.#lastTimestamp = p.timestamp;
    r.switched = true;
  }

  /** Temporal decision for a packet of the current spatial stream; moves `current.temporal`. */
  #selectTemporal(p: LayerPacket, target: VideoLayer): boolean {
    const tid = Math.max(p.temporal, 0);
    const current = this.#current;
    // Changes apply at a frame boundary, never inside a frame.
    if (isTimestampNewer(p.timestamp, this.#lastTimestamp)) {
      this.#lastTimestamp = p.timestamp;
      if (current.temporal > target.temporal) current.temporal = target.temporal;
      else if (tid > current.temporal && tid <= target.temporal && (p.layerSync || p.keyframe))
        current.temporal = tid;
    }
    return tid <= current.temporal;
  }

  /** min(target, preferred), moved to the best live spatial layer when that one is not sent. */
  #effectiveTarget(now: number): VideoLayer {
    const wanted = this.#target ?? this.#preferred;
    const e = this.#effective;
    e.spatial = Math.min(wanted.spatial, this.#preferred.spatial);
    e.temporal = Math.min(wanted.temporal, this.#preferred.temporal);
    if (e.spatial < 0 || e.temporal < 0) {
      e.spatial = -1;
      return e;
    }
    e.spatial = this.#nearestLive(e.spatial, now);
    return e;
  }

  /** `wanted` if live, else the highest live layer below it, else the lowest live one above it. */
  #nearestLive(wanted: number, now: number): number {
    for (let s = wanted; s >= 0; s--) if (this.#isLive(s, now)) return s;
    // Only layers above the wish are sent: overshoot rather than show nothing.
    for (let s = wanted + 1; s < MAX_SPATIAL_LAYERS; s++) if (this.#isLive(s, now)) return s;
    // Nothing sent yet: wait for the wish.
    return wanted;
  }

  #see(p: LayerPacket, now: number): void {
    const s = p.spatial;
    if (!Number.isInteger(s) || s < 0 || s >= MAX_SPATIAL_LAYERS) return;
    const tid = Math.min(Math.max(p.temporal, 0), MAX_TEMPORAL_LAYERS - 1);
    if (!this.#isLive(s, now) || tid > this.#maxTemporalSeen[s]!) this.#maxTemporalSeen[s] = tid;
    this.#lastSeenMs[s] = now;
    this.#lowerFramesSince[s] = 0;
    if (p.timestamp !== this.#lastLayerTimestamp[s]) {
      this.#lastLayerTimestamp[s] = p.timestamp;
      // Pictures are counted on the lowest layer sent (simulcast layers keep their own timestamps).
      let lowest = 0;
      while (lowest < s && !this.#isLive(lowest, now)) lowest++;
      if (lowest === s)
        for (let upper = s + 1; upper < MAX_SPATIAL_LAYERS; upper++)
          if (this.#lowerFramesSince[upper]! < 0xffff) this.#lowerFramesSince[upper]!++;
    }
  }

  /**
   * A layer is live while it sent a packet within the timeout, and while lower layers did not go on
   * without it: the layers of one publisher encode the same pictures, so LOWER_FRAMES_STOPPED
   * frames of the lowest layer with nothing of this one mean the publisher dropped it (its own
   * bandwidth estimate fell), about a quarter of a second at 30 fps rather than the full timeout.
   * A publisher that stalls as a whole stops every layer and trips neither.
   */
  #isLive(s: number, now: number): boolean {
    return (
      now - this.#lastSeenMs[s]! <= this.#layerTimeoutMs && this.#lowerFramesSince[s]! < LOWER_FRAMES_STOPPED
    );
  }

  #highestLive(now: number): number {
    for (let s = MAX_SPATIAL_LAYERS - 1; s >= 0; s--) if (this.#isLive(s, now)) return s;
    return -1;
  }

  #setCurrent(layer: Readonly<VideoLayer>): void {
    this.#current.spatial = layer.spatial;
    this.#current.temporal = layer.temporal;
  }
}
