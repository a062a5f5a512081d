import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import { type ExtensionRange, findHeaderExtension } from '../../rtp/rtp-extensions.ts';
import type { TransportState } from '../../transport/media-transport.ts';
import { EXTENSION_URI, FORWARDED_EXTENSIONS } from '../../transport/negotiation/index.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { LayerAllocator, type TrackAllocation } from '../qos/layer-allocator.ts';
import { RembEstimator } from '../qos/remb-estimator.ts';
import { SendSideEstimator } from '../qos/send-side-estimator.ts';
import { BandwidthProbe } from './bandwidth-probe.ts';
import { SubscriberReportStats } from './connection-quality.ts';
import { DownTrack } from './down-track.ts';
import type { DownTrackOptions } from './down-track-options.ts';
import type { RtpOutput } from './rtp-output.ts';
import { SubscribeTimeline } from './subscribe-timeline.ts';
import { preferQuality, type SourceSwitch, switchSources } from './subscriber-wishes.ts';
import {
  type AllocationInput,
  allocationInputOf,
  budgetFor,
  observeAllocation,
  setTargets,
} from './subscription-allocation.ts';
import { SubscriptionRtcp } from './subscription-rtcp.ts';
import type { UpTrack } from './up-track.ts';

const SENDER_REPORT_INTERVAL_MS = 1000;
/** The allocator runs this often, and at once when the estimate falls by `ESTIMATE_DROP`. */
const ALLOCATE_INTERVAL_MS = 1000;
const ESTIMATE_DROP = 0.85;
const RANGE: ExtensionRange = { offset: 0, length: 0 };

/** What allocates a subscriber's connections together (SubscriberBudget). */
export interface AllocationGroup {
  allocate(): void;
  /** A member's periodic timer fired at `nowMs`: allocate unless that was done less than ~1 s ago. */
  tick(nowMs: number): void;
  remove(subscription: Subscription): void;
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
 * The RTCP both ways is in subscription-rtcp.ts, the probe in bandwidth-probe.ts, the
 * allocator's input and output in subscription-allocation.ts and the subscriber's wishes in
 * subscriber-wishes.ts; this class holds the down-track set and runs the allocation.
 *
 * Video DownTracks made before the transport is connected wait for it (DownTrack.start): what
 * they sent before would be dropped for want of SRTP keys, keyframe included. The steps from the
 * subscription made to its first keyframe sent are timed (`timeline`, subscribe-timeline.ts).
 *
 * Lifecycle: created by subscribe → answer applied → connected → close() (either side left). Its
 * owner reports the transport's states (`transportStateChanged`) and the answer (`answered`).
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
  /** What the subscriber's receiver reports say (loss, jitter, RTT), for connection quality. */
  readonly reportStats = new SubscriberReportStats();
  readonly #transportCcId: number;
  readonly #stopTimer: () => void;
  readonly #stopAllocateTimer: () => void;
  readonly sendSideEstimator = new SendSideEstimator();
  readonly rembEstimator = new RembEstimator();
  readonly #allocator = new LayerAllocator();
  readonly #isScreenShare: (trackId: string) => boolean;
  readonly #rtcp: SubscriptionRtcp;
  readonly #probe: BandwidthProbe;
  #twccSeq = 0;
  /** Its DownTracks build their packets in the transport's send buffers (rtp-output.ts). */
  readonly #output: RtpOutput = {
    buffer: (bytes) => this.transport.rtpBuffer(bytes),
    send: (packet, length) => this.#sendRtp(packet, length),
  };
  #lastAllocatedEstimate = 0;
  /** The subscriber's connections allocated together (SubscriberBudget); undefined: on its own. */
  group: AllocationGroup | undefined;
  /** Mime types the subscriber's answer accepted (its receive codecs); empty until it answered. */
  receiveCodecs: readonly string[] = [];
  /** Subscription made → answer → ICE → DTLS → first RTP → first keyframe. */
  readonly timeline: SubscribeTimeline;
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
    logger?: Logger | undefined;
  }) {
    this.timeline = new SubscribeTimeline({ clock: options.clock, logger: options.logger });
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
    this.#rtcp = this.#newRtcp();
    this.#probe = new BandwidthProbe({
      clock: this.#clock,
      estimator: this.sendSideEstimator,
      canProbe: () => this.#rtcp.twccSeen && this.transport.state === 'connected',
      padder: () => [...this.downTracks.values()].find((d) => d.kind === 'video' && d.rtxEnabled),
      allocate: () => this.allocate(),
    });
    this.transport.onRtcp = (packet) => this.#onRtcp(packet);
    // Subscribers send no media to us; anything else on this transport is ignored.
    this.transport.onRtp = null;
    this.#stopTimer = options.clock.setInterval(() => this.#rtcp.sendReports(), SENDER_REPORT_INTERVAL_MS);
    this.#stopAllocateTimer = options.clock.setInterval(() => this.#periodicAllocate(), ALLOCATE_INTERVAL_MS);
  }

  #newRtcp(): SubscriptionRtcp {
    return new SubscriptionRtcp({
      clock: this.#clock,
      transport: this.transport,
      bySsrc: this.#bySsrc,
      downTracks: this.downTracks,
      sendSideEstimator: this.sendSideEstimator,
      rembEstimator: this.rembEstimator,
      reportStats: this.reportStats,
      onTwcc: () => this.#probe.checkResult(),
    });
  }

  /** The publisher forwarded (a viewer following the active speaker moves to others: switchTarget). */
  get targetId(): ParticipantId {
    return this.#targetId;
  }

  /** Probes started, and those that raised the estimate (bandwidth-probe.ts). */
  get probesSent(): number {
    return this.#probe.sent;
  }

  get probesSucceeded(): number {
    return this.#probe.succeeded;
  }

  /**
   * A viewer following the active speaker: its DownTracks forward `targetId`'s tracks from now on
   * (each of the same kind and codec as before, DownTrack.switchSource); the Dynacast wishes move
   * with them and the allocator runs again.
   */
  switchTarget(targetId: ParticipantId, sources: readonly SourceSwitch[]): void {
    this.#targetId = targetId;
    switchSources(this.subscriberId, this.downTracks, sources);
    this.allocate();
  }

  /** Forwards `upTrack` under new SSRCs with the subscriber's payload types and extension ids. */
  addTrack(upTrack: UpTrack, options: Omit<DownTrackOptions, 'upTrack' | 'send' | 'output'>): DownTrack {
    const down = new DownTrack({
      transportCcId: this.#transportCcId,
      ...options,
      upTrack,
      // A track added to a connected subscription (renegotiation) starts at once.
      waitForStart: this.transport.state !== 'connected',
      onFirstKeyframe: () => this.#keyframeSent(),
      output: this.#output,
    });
    this.downTracks.set(upTrack.mid, down);
    this.#bySsrc.set(options.ssrc, down);
    if (down.preferred) upTrack.setSubscriberWish(this.subscriberId, down.preferred.spatial);
    // A new subscriber needs a keyframe to start decoding: asked now, it is cached by the time
    // the transport connects (DownTrack.start replays it).
    upTrack.requestKeyframe();
    return down;
  }

  /** The subscriber's answer was applied (a viewer's offer is answered when the subscription is made). */
  answered(): void {
    this.timeline.mark('answered');
  }

  /** The transport's state changed: on 'connected' (SRTP keys exist) the waiting DownTracks start. */
  transportStateChanged(state: TransportState): void {
    if (state === 'connecting') this.timeline.mark('iceSelected');
    if (state !== 'connected' || this.#closed) return;
    this.timeline.mark('connected');
    for (const down of this.downTracks.values()) {
      const how = down.start();
      if (down.kind === 'video' && this.timeline.start === undefined) this.timeline.start = how;
    }
  }

  #keyframeSent(): void {
    if (this.transport.state === 'connected') this.timeline.mark('firstKeyframe');
  }

  /**
   * Stops forwarding `upTrack` here (its section was refused and another track replaces it): its
   * DownTrack closes and its Dynacast wish goes.
   */
  removeTrack(upTrack: UpTrack): void {
    const down = this.downTracks.get(upTrack.mid);
    if (down?.upTrack !== upTrack) return;
    upTrack.removeSubscriberWish(this.subscriberId);
    down.close();
    this.downTracks.delete(upTrack.mid);
    this.#bySsrc.delete(down.ssrc);
    this.allocate();
  }

  /**
   * The subscriber's wish for the publisher's track `publisherTrackId` (Waterbus `track_quality`):
   * 0 pause, 1 low, 2 medium, 3 high. Sets the DownTrack's `preferred`, tells the track's Dynacast
   * and reallocates. False when no such video track is forwarded here.
   */
  setPreferredQuality(publisherTrackId: string, quality: 0 | 1 | 2 | 3): boolean {
    const found = preferQuality(this.subscriberId, this.downTracks.values(), publisherTrackId, quality);
    if (found) this.allocate();
    return found;
  }

  /** The subscriber's answer: retransmissions go over RTX on these tracks (by media SSRC), plain on the others. */
  useRtx(mediaSsrcs: ReadonlySet<number>): void {
    for (const [ssrc, down] of this.#bySsrc) down.rtxEnabled = mediaSsrcs.has(ssrc);
  }

  /** Per media SSRC, the extension ids the answer kept: the others are no longer sent on that track. */
  acceptExtensions(byMediaSsrc: ReadonlyMap<number, ReadonlySet<number>>): void {
    for (const [ssrc, down] of this.#bySsrc) {
      const accepted = byMediaSsrc.get(ssrc);
      if (accepted) down.acceptExtensions(accepted);
    }
  }

  /** The bandwidth estimate in use: transport-cc when the subscriber sends it, else REMB; undefined before either. */
  get estimateBps(): number | undefined {
    return this.#rtcp.estimateBps;
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
    this.#allocateAlone();
  }

  /** Allocates this connection's estimate over its own tracks; what it allocated, if it did. */
  #allocateAlone(): { estimateBps: number; usedBps: number; input: AllocationInput } | undefined {
    const estimate = this.estimateBps;
    if (estimate === undefined) return undefined;
    const input = this.allocationInput(false);
    if (input.tracks.length === 0) return undefined;
    const allocation = this.#allocator.allocate(budgetFor(estimate, [input]), input.tracks);
    this.applyAllocation(input, allocation.tracks);
    if (allocation.probeGoalBps !== undefined)
      this.probe(
        allocation.probeGoalBps,
        allocation.probeCeilingBps ?? allocation.probeGoalBps,
        allocation.usedBps,
      );
    return { estimateBps: estimate, usedBps: allocation.usedBps, input };
  }

  /**
   * The once-a-second allocation: a group allocates once a second for all its connections. The
   * worker's estimate histograms count this run only (once a second per subscriber).
   */
  #periodicAllocate(): void {
    if (this.#closed) return;
    if (this.group) {
      this.group.tick(this.#clock.nowMs());
      return;
    }
    const done = this.#allocateAlone();
    if (done) observeAllocation(done.estimateBps, done.usedBps, [done.input]);
  }

  /** This connection's share of an allocation: its wanted video tracks (in order) and its audio tracks. */
  allocationInput(activeSpeaker: boolean): AllocationInput {
    return allocationInputOf({
      downTracks: this.downTracks.values(),
      targetId: this.targetId,
      isScreenShare: this.#isScreenShare,
      activeSpeaker,
    });
  }

  /** Sets the targets an allocation chose for `input.video` (same order), urgent or not (setTargets). */
  applyAllocation(input: AllocationInput, allocations: readonly TrackAllocation[]): void {
    const estimate = this.estimateBps;
    if (estimate !== undefined) this.#lastAllocatedEstimate = estimate;
    setTargets(input, allocations, estimate, estimate === undefined ? 0 : this.#rtcp.drainMs(estimate));
  }

  close(): void {
    this.#closed = true;
    this.group?.remove(this);
    this.group = undefined;
    this.#stopTimer();
    this.#stopAllocateTimer();
    this.#probe.stop();
    for (const d of this.downTracks.values()) {
      d.upTrack.removeSubscriberWish(this.subscriberId);
      d.close();
    }
    this.downTracks.clear();
    this.#bySsrc.clear();
    this.transport.close();
  }

  /**
   * A probe (bandwidth-probe.ts): padding on RTX towards `goalBps` (at most `ceilingBps` with a
   * margin), `usedBps` being what the allocation sends.
   */
  probe(goalBps: number, ceilingBps: number, usedBps: number): void {
    this.#probe.probe(goalBps, ceilingBps, usedBps);
  }

  /** Stamps the transport-wide sequence number (when packet[0..length) carries the extension) and sends. */
  #sendRtp(packet: Buffer, length: number): void {
    if (
      this.#transportCcId !== 0 &&
      findHeaderExtension(packet, this.#transportCcId, RANGE) &&
      RANGE.length === 2
    ) {
      const seq = this.#twccSeq;
      this.#twccSeq = (seq + 1) & 0xffff;
      packet.writeUInt16BE(seq, RANGE.offset);
      this.sendSideEstimator.onPacketSent(seq, length, this.#clock.nowMs(), this.#probe.cluster);
    }
    this.transport.sendRtpInPlace(packet, length);
    if (!this.timeline.has('firstRtp') && this.transport.state === 'connected')
      this.timeline.mark('firstRtp');
  }

  #onRtcp(packet: Buffer): void {
    if (!this.#rtcp.onRtcp(packet)) return;
    const estimate = this.estimateBps;
    if (estimate !== undefined && estimate < this.#lastAllocatedEstimate * ESTIMATE_DROP) {
      // The link is congested: a running probe stops, the next waits for things to settle.
      this.#probe.congested();
      this.allocate();
    }
  }
}
