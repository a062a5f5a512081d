import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import {
  buildSenderReport,
  feedbackMediaSsrc,
  firSsrcs,
  forEachRtcp,
  nackSequenceNumbers,
  PsfbFmt,
  parseReceiverReport,
  parseTwcc,
  type RtcpHeaderView,
  RtcpType,
  RtpfbFmt,
  rembBitrateBps,
} from '../../rtp/rtcp.ts';
import { type ExtensionRange, findHeaderExtension } from '../../rtp/rtp-extensions.ts';
import { EXTENSION_URI, FORWARDED_EXTENSIONS } from '../../transport/negotiation/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { type AllocatorTrack, LayerAllocator, type TrackAllocation } from '../qos/layer-allocator.ts';
import type { ProbeResult } from '../qos/probe-bitrate-estimator.ts';
import { RembEstimator } from '../qos/remb-estimator.ts';
import { SendSideEstimator } from '../qos/send-side-estimator.ts';
import { HIGHEST_LAYER, NO_LAYER, type VideoLayer } from '../qos/video-layer.ts';
import { RttEstimator, SubscriberReportStats } from './connection-quality.ts';
import { DownTrack, type DownTrackOptions } from './down-track.ts';
import type { UpTrack, WaterbusQuality } from './up-track.ts';

const SENDER_REPORT_INTERVAL_MS = 1000;
/** The allocator runs this often, and at once when the estimate falls by `ESTIMATE_DROP`. */
const ALLOCATE_INTERVAL_MS = 1000;
const ESTIMATE_DROP = 0.85;
/** A down-switch is urgent (the current layer stops at once) when that layer takes more than this × the estimate. */
const URGENT_RATIO = 1.5;
/**
 * A down-switch is urgent too when what is in flight takes longer than this to drain at the
 * estimate: a queue stands at the bottleneck (a layer that just restarted measures low over the
 * bitrate window and may not trip URGENT_RATIO).
 */
const URGENT_QUEUE_MS = 200;
/** Feedback is trusted for allocation only after this long (the acknowledged rate needs a window). */
const ESTIMATOR_WARMUP_MS = 1500;
/** What an audio track is assumed to take from the estimate. */
const AUDIO_BPS = 50_000;
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
const RANGE: ExtensionRange = { offset: 0, length: 0 };

/** One connection's part of an allocation (see `allocationInput`). */
export interface AllocationInput {
  video: DownTrack[];
  /** One per `video` entry; track ids are `<publisher>/<track>` so that they are unique per subscriber. */
  tracks: AllocatorTrack[];
  audioTracks: number;
}

/** What allocates a subscriber's connections together (SubscriberBudget). */
export interface AllocationGroup {
  allocate(): void;
  /** A member's periodic timer fired at `nowMs`: allocate unless that was done less than ~1 s ago. */
  tick(nowMs: number): void;
  remove(subscription: Subscription): void;
}

/**
 * What an estimate leaves for video: minus what audio takes, but never below the cheapest layer of
 * every wanted track. Bandwidth alone never pauses video: a frozen picture is worse than a late one.
 */
export function budgetFor(estimateBps: number, inputs: readonly AllocationInput[]): number {
  let audio = 0;
  let floor = 0;
  for (const input of inputs) {
    audio += input.audioTracks;
    for (const t of input.tracks) {
      if (t.paused) continue;
      // The allocator's first rung: the lowest layer sent (a keyframe-heavy low layer can measure
      // above a higher one, so not simply the smallest figure).
      const first = t.bitratesBps.flat().find((bps) => bps > 0);
      if (first !== undefined) floor += first;
    }
  }
  return Math.max(estimateBps - audio * AUDIO_BPS, floor);
}

/**
 * The rungs the allocator may choose: every temporal layer of the lowest spatial layer, only the
 * full frame rate above it. Under a tight budget the subscriber gets a smaller picture at full
 * frame rate rather than a larger one at a quarter of it, and the layers step down spatially.
 */
function spatialFirst(bitrates: number[][]): number[][] {
  return bitrates.map((row, spatial) => {
    if (spatial === 0 || row.length === 0) return row;
    const full = row.at(-1)!;
    return row.map((_, t) => (t === row.length - 1 ? full : 0));
  });
}

/** Waterbus quality → the layer asked for: 0 pause, 1 low, 2 medium, 3 high (and whatever is above). */
export function qualityToLayer(quality: WaterbusQuality): VideoLayer {
  if (quality === 0) return { ...NO_LAYER };
  if (quality === 3) return { ...HIGHEST_LAYER };
  return { spatial: quality - 1, temporal: HIGHEST_LAYER.temporal };
}

/**
 * One subscriber receiving one publisher's tracks over its own transport (the Waterbus topology:
 * a connection per subscriber × publisher). Subscriber feedback is consumed here, never forwarded
 * raw: PLI/FIR become throttled keyframe requests, NACKs are answered from the cache, transport-cc
 * feedback feeds a SendSideEstimator (REMB a RembEstimator when no transport-cc comes), and a
 * LayerAllocator turns the estimate into each video DownTrack's `target` about once a second (and
 * at once when the estimate falls). When the allocation holds a track back, a probe (padding on
 * RTX up to the allocator's probe goal) tests whether the link carries more.
 *
 * Every packet sent on the transport gets a transport-wide sequence number in the subscriber's
 * transport-cc extension (when the packet carries it: DownTrack maps the publisher's).
 *
 * Lifecycle: created by subscribe → answer applied → connected → close() (either side left).
 */
export class Subscription {
  readonly subscriberId: ParticipantId;
  #targetId: ParticipantId;
  readonly transport: WebRtcTransport;
  /** False: the subscriber's messages on this connection's room data channels are dropped. */
  readonly canPublishData: boolean;
  readonly downTracks = new Map<string, DownTrack>();
  readonly #bySsrc = new Map<number, DownTrack>();
  readonly #clock: Clock;
  readonly #rtt = new RttEstimator();
  /** What the subscriber's receiver reports say (loss, jitter, RTT), for connection quality. */
  readonly reportStats = new SubscriberReportStats();
  readonly #transportCcId: number;
  readonly #stopTimer: () => void;
  readonly #stopAllocateTimer: () => void;
  readonly sendSideEstimator = new SendSideEstimator();
  readonly rembEstimator = new RembEstimator();
  readonly #allocator = new LayerAllocator();
  readonly #isScreenShare: (trackId: string) => boolean;
  #twccSeq = 0;
  #rttMs: number | undefined;
  #firstTwccMs = -1;
  #lastTwccMs = -1;
  #firstRembMs = -1;
  #lastAllocatedEstimate = 0;
  /** Probing state. */
  #probeStopTimer: (() => void) | undefined;
  #probeGoalBps = 0;
  #probeStartEstimate = 0;
  #probeTargetBps = 0;
  /** The running probe's cluster id (every packet sent meanwhile belongs to it), -1 when none. */
  #probeCluster = -1;
  #nextProbeCluster = 0;
  #awaitedCluster = -1;
  #nextProbeMs = 0;
  #probeBackoffMs = PROBE_BACKOFF_FIRST_MS;
  probesSent = 0;
  probesSucceeded = 0;
  /** The subscriber's connections allocated together (SubscriberBudget); undefined: on its own. */
  group: AllocationGroup | undefined;
  #closed = false;

  constructor(options: {
    subscriberId: ParticipantId;
    targetId: ParticipantId;
    transport: WebRtcTransport;
    clock: Clock;
    /** The subscriber's transport-cc extension id (default: the offer's, FORWARDED_EXTENSIONS), 0 for none. */
    transportCcId?: number | undefined;
    /** Whether a published track is the publisher's screen share: the allocator serves it first. */
    isScreenShare?: ((trackId: string) => boolean) | undefined;
    /** The subscriber's grant for messages it sends on this connection's room data channels. */
    canPublishData?: boolean | undefined;
  }) {
    this.subscriberId = options.subscriberId;
    this.canPublishData = options.canPublishData ?? true;
    this.#targetId = options.targetId;
    this.transport = options.transport;
    this.#clock = options.clock;
    this.#isScreenShare = options.isScreenShare ?? (() => false);
    this.#transportCcId =
      options.transportCcId ??
      FORWARDED_EXTENSIONS.video.find((e) => e.uri === EXTENSION_URI.transportCc)?.id ??
      0;
    this.transport.onRtcp = (packet) => this.#onRtcp(packet);
    // Subscribers send no media to us; anything else on this transport is ignored.
    this.transport.onRtp = null;
    this.#stopTimer = options.clock.setInterval(() => this.#sendReports(), SENDER_REPORT_INTERVAL_MS);
    this.#stopAllocateTimer = options.clock.setInterval(() => this.#periodicAllocate(), ALLOCATE_INTERVAL_MS);
  }

  /** The publisher forwarded (a viewer following the active speaker moves to others: switchTarget). */
  get targetId(): ParticipantId {
    return this.#targetId;
  }

  /**
   * A viewer following the active speaker: its DownTracks forward `targetId`'s tracks from now on
   * (each of the same kind and codec as before, DownTrack.switchSource); the Dynacast wishes move
   * with them and the allocator runs again.
   */
  switchTarget(
    targetId: ParticipantId,
    sources: ReadonlyArray<{ down: DownTrack; up: UpTrack; extensionIds: Uint8Array; absSendTimeId: number }>,
  ): void {
    this.#targetId = targetId;
    // Keyed by mid, and mids of two publishers overlap: every old key goes before a new one is set.
    for (const { down } of sources) {
      down.upTrack.removeSubscriberWish(this.subscriberId);
      this.downTracks.delete(down.upTrack.mid);
    }
    for (const { down, up, ...mapping } of sources) {
      down.switchSource(up, mapping);
      this.downTracks.set(up.mid, down);
      if (down.preferred) up.setSubscriberWish(this.subscriberId, down.preferred.spatial);
    }
    this.allocate();
  }

  /** Forwards `upTrack` under new SSRCs with the subscriber's payload types and extension ids. */
  addTrack(upTrack: UpTrack, options: Omit<DownTrackOptions, 'upTrack' | 'send'>): DownTrack {
    const down = new DownTrack({
      transportCcId: this.#transportCcId,
      ...options,
      upTrack,
      send: (p) => this.#sendRtp(p),
    });
    this.downTracks.set(upTrack.mid, down);
    this.#bySsrc.set(options.ssrc, down);
    if (down.preferred) upTrack.setSubscriberWish(this.subscriberId, down.preferred.spatial);
    // A new subscriber needs a keyframe to start decoding.
    upTrack.requestKeyframe();
    return down;
  }

  /**
   * The subscriber's wish for the publisher's track `publisherTrackId` (Waterbus `track_quality`):
   * 0 pause, 1 low, 2 medium, 3 high. Sets the DownTrack's `preferred`, tells the track's Dynacast
   * and reallocates. False when no such video track is forwarded here.
   */
  setPreferredQuality(publisherTrackId: string, quality: 0 | 1 | 2 | 3): boolean {
    let found = false;
    for (const down of this.downTracks.values()) {
      if (down.upTrack.trackId !== publisherTrackId || down.kind !== 'video') continue;
      const layer = qualityToLayer(quality);
      down.setPreferred(layer);
      down.upTrack.setSubscriberWish(this.subscriberId, layer.spatial);
      found = true;
    }
    if (found) this.allocate();
    return found;
  }

  /** The subscriber's answer: retransmissions go over RTX on these tracks (by media SSRC), plain on the others. */
  useRtx(mediaSsrcs: ReadonlySet<number>): void {
    for (const [ssrc, down] of this.#bySsrc) down.rtxEnabled = mediaSsrcs.has(ssrc);
  }

  /** The bandwidth estimate in use: transport-cc when the subscriber sends it, else REMB; undefined before either. */
  get estimateBps(): number | undefined {
    const now = this.#clock.nowMs();
    if (this.#firstTwccMs >= 0 && now - this.#firstTwccMs >= ESTIMATOR_WARMUP_MS)
      return this.sendSideEstimator.estimateBps;
    if (this.#firstTwccMs < 0 && this.#firstRembMs >= 0) return this.rembEstimator.estimateBps;
    return undefined;
  }

  /**
   * Runs the LayerAllocator over the video DownTracks and sets their targets; starts a probe when
   * a track is held back. Without an estimate yet, targets stay at `preferred`. A Subscription in
   * a group (its subscriber's other connections, see SubscriberBudget) lets the group allocate
   * across all of them instead.
   */
  allocate(): void {
    if (this.#closed) return;
    if (this.group) {
      this.group.allocate();
      return;
    }
    const estimate = this.estimateBps;
    if (estimate === undefined) return;
    const input = this.allocationInput(false);
    if (input.tracks.length === 0) return;
    const allocation = this.#allocator.allocate(budgetFor(estimate, [input]), input.tracks);
    this.applyAllocation(input, allocation.tracks);
    if (allocation.probeGoalBps !== undefined)
      this.probe(
        allocation.probeGoalBps,
        allocation.probeCeilingBps ?? allocation.probeGoalBps,
        allocation.usedBps,
      );
  }

  /** The once-a-second allocation: a group allocates once a second for all its connections. */
  #periodicAllocate(): void {
    if (this.#closed) return;
    if (this.group) this.group.tick(this.#clock.nowMs());
    else this.allocate();
  }

  /** This connection's share of an allocation: its wanted video tracks (in order) and its audio tracks. */
  allocationInput(activeSpeaker: boolean): AllocationInput {
    const video: DownTrack[] = [];
    const tracks: AllocatorTrack[] = [];
    let audio = 0;
    for (const down of this.downTracks.values()) {
      if (down.kind === 'audio') {
        audio++;
        continue;
      }
      const preferred = down.preferred!;
      video.push(down);
      tracks.push({
        trackId: `${this.targetId}/${down.upTrack.trackId}`,
        screenShare: this.#isScreenShare(down.upTrack.trackId),
        activeSpeaker,
        paused: preferred.spatial < 0,
        visible: true,
        preferred,
        bitratesBps: spatialFirst(down.upTrack.bitratesBps()),
      });
    }
    return { video, tracks, audioTracks: audio };
  }

  /**
   * Sets the targets an allocation chose for `input.video` (same order). A down-switch is urgent
   * (the current layer stops at once) when the layer forwarded now takes more than URGENT_RATIO ×
   * this connection's estimate, or when a queue of more than URGENT_QUEUE_MS stands at the
   * bottleneck: the link no longer carries it. Its keyframe waits for that queue to drain.
   */
  applyAllocation(input: AllocationInput, allocations: readonly TrackAllocation[]): void {
    const estimate = this.estimateBps;
    if (estimate !== undefined) this.#lastAllocatedEstimate = estimate;
    const drainMs = estimate === undefined ? 0 : this.#drainMs(estimate);
    allocations.forEach((t, i) => {
      const down = input.video[i]!;
      const current = down.current;
      const currentBps =
        current && current.spatial >= 0 ? (input.tracks[i]!.bitratesBps[current.spatial]?.at(-1) ?? 0) : 0;
      const urgent =
        estimate !== undefined && (currentBps > estimate * URGENT_RATIO || drainMs > URGENT_QUEUE_MS);
      down.setTarget(t.target, urgent, drainMs);
    });
  }

  /**
   * How long the bottleneck's queue takes to drain at `estimateBps`, ms: the bytes no feedback
   * reported yet, less what arrived since the last feedback (it covers what had arrived when sent).
   */
  #drainMs(estimateBps: number): number {
    if (this.#lastTwccMs < 0 || !(estimateBps > 0)) return 0;
    const now = this.#clock.nowMs();
    const inFlightMs = (this.sendSideEstimator.bytesInFlight(now) * 8 * 1000) / estimateBps;
    return Math.max(0, inFlightMs - (now - this.#lastTwccMs));
  }

  close(): void {
    this.#closed = true;
    this.group?.remove(this);
    this.group = undefined;
    this.#stopTimer();
    this.#stopAllocateTimer();
    this.#stopProbe();
    for (const d of this.downTracks.values()) {
      d.upTrack.removeSubscriberWish(this.subscriberId);
      d.close();
    }
    this.downTracks.clear();
    this.#bySsrc.clear();
    this.transport.close();
  }

  /**
   * Probe: for PROBE_DURATION_MS, pad on RTX so that what is sent reaches the probe rate; every
   * packet sent meanwhile forms a probe cluster, and the rate it arrived at (transport-cc feedback)
   * raises the estimate when the path carried it (ProbeBitrateEstimator). The rate is at least the
   * cheapest held-back upgrade, at most the full wish (`ceilingBps`) with a margin, and at most
   * PROBE_STEP × what is proven: a capped link sees a short burst, a free one is found in a few
   * doubling steps.
   */
  probe(goalBps: number, ceilingBps: number, usedBps: number): void {
    if (this.#probeStopTimer || this.#firstTwccMs < 0 || this.transport.state !== 'connected') return;
    const now = this.#clock.nowMs();
    if (now < this.#nextProbeMs) return;
    // Only on a calm link: no overuse and no loss worth the name right now.
    if (this.sendSideEstimator.usage === 'overusing' || this.sendSideEstimator.lossFraction > 0.02) return;
    const padder = [...this.downTracks.values()].find((d) => d.kind === 'video' && d.rtxEnabled);
    if (!padder) return;
    const estimate = this.sendSideEstimator.estimateBps;
    const proven = Math.max(estimate, usedBps);
    const target = Math.min(PROBE_STEP * proven, Math.max(goalBps, ceilingBps) * 1.15);
    const padBps = target - Math.max(usedBps, 0);
    if (padBps <= 0 || target <= estimate) return;
    this.probesSent++;
    this.#probeGoalBps = goalBps;
    this.#probeStartEstimate = estimate;
    const cluster = this.#nextProbeCluster++;
    this.#probeCluster = cluster;
    // Padding owed by the clock, not per tick: a late timer catches up (at most three ticks' worth).
    const startMs = now;
    const bytesPerMs = padBps / 8 / 1000;
    let padded = 0;
    const pad = () => {
      if (this.sendSideEstimator.usage === 'overusing') return;
      const owed = Math.min(
        bytesPerMs * (this.#clock.nowMs() - startMs + PROBE_TICK_MS) - padded,
        3 * bytesPerMs * PROBE_TICK_MS,
      );
      if (owed > 0) padded += padder.sendPadding(owed);
    };
    const stopPadding = this.#clock.setInterval(pad, PROBE_TICK_MS);
    pad();
    this.#probeTargetBps = target;
    const stopWait = { cancel: (): void => undefined };
    const stopEnd = this.#clock.setTimeout(() => {
      stopPadding();
      this.#probeCluster = -1;
      this.#awaitedCluster = cluster;
      this.sendSideEstimator.endProbeCluster(cluster);
      this.#checkProbeResult();
      if (this.#awaitedCluster === cluster)
        stopWait.cancel = this.#clock.setTimeout(
          () => this.#probeDone(this.sendSideEstimator.judgeProbeCluster(cluster)),
          PROBE_RESULT_TIMEOUT_MS,
        );
    }, PROBE_DURATION_MS);
    this.#probeStopTimer = () => {
      stopPadding();
      stopEnd();
      stopWait.cancel();
      this.#probeCluster = -1;
      this.#awaitedCluster = -1;
    };
  }

  /** After feedback: the awaited probe's result, if it came. */
  #checkProbeResult(): void {
    if (this.#awaitedCluster < 0) return;
    const result = this.sendSideEstimator.takeProbeResult();
    if (result && result.clusterId === this.#awaitedCluster) this.#probeDone(result);
  }

  #probeDone(result: ProbeResult | undefined): void {
    this.#probeStopTimer?.();
    this.#probeStopTimer = undefined;
    const now = this.#clock.nowMs();
    const estimate = this.sendSideEstimator.estimateBps;
    if (result && !result.saturated && result.sendBps < PROBE_MIN_SENT_RATIO * this.#probeTargetBps) {
      // Not sent at its rate (the event loop was late): no verdict on the link, try again soon.
      this.#nextProbeMs = now + PROBE_AFTER_SUCCESS_MS;
    } else if (result && (estimate >= this.#probeGoalBps || estimate > this.#probeStartEstimate * 1.2)) {
      this.probesSucceeded++;
      this.#probeBackoffMs = PROBE_BACKOFF_FIRST_MS;
      this.#nextProbeMs = now + PROBE_AFTER_SUCCESS_MS;
      this.allocate();
      // The next step up, once the allocation took this one.
      this.#clock.setTimeout(() => this.allocate(), PROBE_AFTER_SUCCESS_MS);
    } else {
      this.#nextProbeMs = now + this.#probeBackoffMs;
      this.#probeBackoffMs = Math.min(PROBE_BACKOFF_MAX_MS, this.#probeBackoffMs * 2);
      this.allocate();
    }
  }

  #stopProbe(): void {
    this.#probeStopTimer?.();
    this.#probeStopTimer = undefined;
  }

  /** Stamps the transport-wide sequence number (when the packet carries the extension) and sends. */
  #sendRtp(packet: Buffer): void {
    if (
      this.#transportCcId !== 0 &&
      findHeaderExtension(packet, this.#transportCcId, RANGE) &&
      RANGE.length === 2
    ) {
      const seq = this.#twccSeq;
      this.#twccSeq = (seq + 1) & 0xffff;
      packet.writeUInt16BE(seq, RANGE.offset);
      this.sendSideEstimator.onPacketSent(seq, packet.length, this.#clock.nowMs(), this.#probeCluster);
    }
    this.transport.sendRtp(packet);
  }

  #onRtcp(packet: Buffer): void {
    let estimateChanged = false;
    forEachRtcp(packet, (p) => {
      if (p.type === RtcpType.PSFB && (p.count === PsfbFmt.PLI || p.count === PsfbFmt.FIR)) {
        const ssrcs = p.count === PsfbFmt.FIR ? firSsrcs(packet, p) : [feedbackMediaSsrc(packet, p)];
        for (const ssrc of ssrcs) {
          const down = ssrc === undefined ? undefined : this.#bySsrc.get(ssrc);
          down?.upTrack.requestKeyframe(down.currentSsrc);
        }
      } else if (p.type === RtcpType.RTPFB && p.count === RtpfbFmt.NACK) {
        const ssrc = feedbackMediaSsrc(packet, p);
        // A resend arrives after the round trip and the bottleneck's queue: not sooner again.
        const interval = (this.#rttMs ?? 0) + this.sendSideEstimator.queueDelayMs;
        if (ssrc !== undefined) this.#bySsrc.get(ssrc)?.retransmit(nackSequenceNumbers(packet, p), interval);
      } else if (p.type === RtcpType.RTPFB && p.count === RtpfbFmt.TWCC) {
        const feedback = parseTwcc(packet, p);
        if (!feedback) return;
        if (this.#firstTwccMs < 0) this.#firstTwccMs = this.#clock.nowMs();
        this.#lastTwccMs = this.#clock.nowMs();
        this.sendSideEstimator.onFeedback(feedback, this.#clock.nowMs());
        estimateChanged = true;
        this.#checkProbeResult();
      } else if (p.type === RtcpType.PSFB && p.count === PsfbFmt.REMB) {
        const bps = rembBitrateBps(packet, p);
        if (bps === undefined) return;
        if (this.#firstRembMs < 0) this.#firstRembMs = this.#clock.nowMs();
        this.rembEstimator.onRemb(bps, this.#clock.nowMs());
        estimateChanged = true;
      } else if (p.type === RtcpType.RR && p.count > 0) {
        this.#onReceiverReport(packet, p);
      }
    });
    if (estimateChanged) {
      const estimate = this.estimateBps;
      if (estimate !== undefined && estimate < this.#lastAllocatedEstimate * ESTIMATE_DROP) {
        // The link is congested: a running probe stops, the next waits for things to settle.
        this.#stopProbe();
        this.#nextProbeMs = Math.max(this.#nextProbeMs, this.#clock.nowMs() + PROBE_AFTER_DROP_MS);
        this.allocate();
      }
    }
  }

  /** Loss, jitter and RTT (LSR/DLSR against our sender reports) of the streams we send. */
  #onReceiverReport(packet: Buffer, p: RtcpHeaderView): void {
    const rr = parseReceiverReport(packet, p);
    if (!rr) return;
    const nowMs = this.#clock.nowMs();
    for (const block of rr.reports) {
      const down = this.#bySsrc.get(block.ssrc);
      if (!down) continue;
      const rtt = this.#rtt.rttMs(block.lastSr, block.delaySinceLastSr, nowMs);
      this.reportStats.onReportBlock(
        block.fractionLost / 256,
        (block.jitter / down.upTrack.codec.clockRate) * 1000,
        rtt,
      );
      if (rtt !== undefined) {
        // Smoothed (RFC 6298's 1/8 gain); paces resends and the estimator's decreases.
        this.#rttMs = this.#rttMs === undefined ? rtt : 0.875 * this.#rttMs + 0.125 * rtt;
        this.sendSideEstimator.setRttMs(this.#rttMs);
      }
    }
  }

  #sendReports(): void {
    if (this.transport.state !== 'connected') return;
    for (const down of this.downTracks.values()) {
      const sr = down.senderReport();
      if (!sr) continue;
      this.transport.sendRtcp(
        buildSenderReport(down.ssrc, sr.ntpMs, sr.rtpTimestamp, down.packetsSent, down.octetsSent),
      );
      this.#rtt.senderReportSent(sr.ntpMs, this.#clock.nowMs());
    }
  }
}
