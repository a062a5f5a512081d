import { type TwccFeedback, TwccStatus, twccReceiveTimesUs } from '../../rtp/rtcp-twcc.ts';
import { SeqUnwrapper } from '../../rtp/seq.ts';
import { AckedBitrateEstimator } from './acked-bitrate-estimator.ts';
import { AimdRateController } from './aimd-rate-controller.ts';
import { type BandwidthEstimator, type BitrateBounds, resolveBounds } from './bandwidth-estimator.ts';
import { InterArrival } from './inter-arrival.ts';
import { LossBasedController } from './loss-based-controller.ts';
import type { BandwidthUsage } from './overuse-detector.ts';
import { ProbeBitrateEstimator, type ProbeResult } from './probe-bitrate-estimator.ts';
import { TrendlineEstimator } from './trendline-estimator.ts';

/** Sent packets remembered for feedback at most: at 20 Mbit/s of 1200-byte packets, about 4 s. */
const MAX_HISTORY = 8192;
/**
 * The history starts this small (an audio stream's 50 packets/s: 10 s of them) and doubles while
 * it would forget a packet sent within HISTORY_SPAN_MS. Sized for the largest at once, each
 * subscriber connection held 200 kB of history: an audio room's listener has one per speaker.
 */
const MIN_HISTORY = 512;
const HISTORY_SPAN_MS = 4000;
/** A sent packet's fields, side by side in one array (one cache line per packet sent). */
const FIELDS = 4;
/** Extended transport-wide sequence number, -1 for an empty slot. */
const SEQ = 0;
const SEND_MS = 1;
/** Size in bytes; once a feedback reported the packet, -1 - size. */
const BYTES = 2;
/** The probe cluster the packet belonged to, -1 for none. */
const CLUSTER = 3;
/** TWCC reference time is 24 bits of 64 ms (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). */
const REFERENCE_WRAP_US = 2 ** 24 * 64_000;
const DEFAULT_RTT_MS = 100;
/** The base one-way offset (send → arrival, both clocks) is the minimum over the last 2–4 s. */
const BASE_OFFSET_WINDOW_MS = 2000;
/** Under overuse the decrease starts from the rate of the arrivals in this last span. */
const RECENT_WINDOW_MS = 100;
/** Packets sent longer ago than this and never reported are not counted in flight (lost feedback). */
const IN_FLIGHT_WINDOW_MS = 1000;

/**
 * Send-side bandwidth estimation for one subscriber from transport-wide congestion control
 * feedback, after draft-ietf-rmcat-gcc-02 as libwebrtc builds it:
 * - delay-based (§5): packet groups → delay-gradient trendline → overuse detector with adaptive
 *   threshold → AIMD rate controller anchored to the acknowledged throughput;
 * - loss-based (§6): loss > 10 % decreases, < 2 % increases;
 * - the estimate is the smaller of the two.
 *
 * Pure: time comes in the arguments. Lifecycle: one per subscriber transport that negotiated
 * transport-cc; dropped with it.
 */
export class SendSideEstimator implements BandwidthEstimator {
  readonly #sentSeqs = new SeqUnwrapper();
  /** Sent packets by extended sequence number modulo the capacity, FIELDS numbers each. */
  #history = emptyHistory(MIN_HISTORY);
  /** Slots of the history less one (a power of two). */
  #mask = MIN_HISTORY - 1;
  readonly #probes = new ProbeBitrateEstimator();
  #probeResult: ProbeResult | undefined;
  readonly #interArrival = new InterArrival();
  readonly #trendline = new TrendlineEstimator();
  readonly #acked = new AckedBitrateEstimator();
  readonly #delayBased: AimdRateController;
  readonly #lossBased: LossBasedController;
  #rttMs = DEFAULT_RTT_MS;
  #referenceOffsetUs = 0;
  #lastReferenceTime = -1;
  /** Minimum send → arrival offsets of the current and the previous window, and the latest one. */
  #minOffsetMs = Number.POSITIVE_INFINITY;
  #previousMinOffsetMs = Number.POSITIVE_INFINITY;
  #offsetWindowStartMs = Number.NEGATIVE_INFINITY;
  #lastOffsetMs = Number.NaN;
  /** Extended sequence number of the last packet sent, -1 before any. */
  #lastSentExt = -1;

  constructor(bounds: BitrateBounds = {}) {
    const b = resolveBounds(bounds);
    this.#delayBased = new AimdRateController(b);
    this.#lossBased = new LossBasedController(b);
  }

  get estimateBps(): number {
    return Math.min(this.#delayBased.estimateBps, this.#lossBased.estimateBps);
  }

  get delayBasedBps(): number {
    return this.#delayBased.estimateBps;
  }

  get lossBasedBps(): number {
    return this.#lossBased.estimateBps;
  }

  /** Throughput the subscriber acknowledged, bps, once known. */
  get ackedBitrateBps(): number | undefined {
    return this.#acked.bitrateBps;
  }

  get usage(): BandwidthUsage {
    return this.#trendline.usage;
  }

  get lossFraction(): number {
    return this.#lossBased.lossFraction;
  }

  /**
   * How much longer than at best the last acknowledged packet took to arrive, ms: the delay of the
   * bottleneck queue now (0 before any feedback). A resend or a keyframe waits this long behind it.
   */
  get queueDelayMs(): number {
    const base = Math.min(this.#minOffsetMs, this.#previousMinOffsetMs);
    if (!Number.isFinite(base) || Number.isNaN(this.#lastOffsetMs)) return 0;
    return Math.max(0, this.#lastOffsetMs - base);
  }

  /**
   * Bytes sent within the last second that no feedback reported yet: what stands in the
   * bottleneck's queue (and on the wire, and received since the last feedback). At the estimated
   * rate, the queue drains in about bytesInFlight × 8 / estimate.
   */
  bytesInFlight(nowMs: number): number {
    let bytes = 0;
    const history = this.#history;
    const oldest = Math.max(0, this.#lastSentExt - this.#mask);
    for (let ext = this.#lastSentExt; ext >= oldest; ext--) {
      const at = (ext & this.#mask) * FIELDS;
      if (history[at + SEQ] !== ext || nowMs - history[at + SEND_MS]! > IN_FLIGHT_WINDOW_MS) break;
      const size = history[at + BYTES]!;
      if (size >= 0) bytes += size;
    }
    return bytes;
  }

  /** Round-trip time from RTCP receiver reports (RFC 3550 §6.4.1); paces decreases and increases. */
  setRttMs(rttMs: number): void {
    if (Number.isFinite(rttMs) && rttMs >= 0) this.#rttMs = rttMs;
  }

  /**
   * A packet carrying transport-wide sequence number `twccSeq` left for the subscriber; while a
   * bandwidth probe runs, `probeCluster` names it (every packet sent meanwhile belongs to it).
   */
  onPacketSent(twccSeq: number, sizeBytes: number, sendTimeMs: number, probeCluster = -1): void {
    const ext = this.#sentSeqs.unwrap(twccSeq);
    if (ext > this.#lastSentExt) this.#lastSentExt = ext;
    let at = (ext & this.#mask) * FIELDS;
    // The slot's packet is younger than the span to remember: room for twice as many.
    if (
      this.#history[at + SEQ]! >= 0 &&
      sendTimeMs - this.#history[at + SEND_MS]! < HISTORY_SPAN_MS &&
      this.#mask + 1 < MAX_HISTORY
    ) {
      this.#grow();
      at = (ext & this.#mask) * FIELDS;
    }
    const history = this.#history;
    history[at + SEQ] = ext;
    history[at + SEND_MS] = sendTimeMs;
    history[at + BYTES] = sizeBytes;
    history[at + CLUSTER] = probeCluster;
    if (probeCluster >= 0) this.#probes.onSent(probeCluster, sizeBytes, sendTimeMs);
  }

  /** Probe cluster `id` sent its last packet; its result comes with the feedback that covers it. */
  endProbeCluster(id: number): void {
    this.#probes.end(id);
    this.#applyProbeResult(this.#probes.takeResult());
  }

  /** Judges cluster `id` with the feedback so far (the caller waited long enough) and applies the result. */
  judgeProbeCluster(id: number): ProbeResult | undefined {
    const result = this.#probes.judge(id);
    this.#applyProbeResult(result);
    return this.takeProbeResult();
  }

  /** The last probe result applied to the estimate, once. */
  takeProbeResult(): ProbeResult | undefined {
    const r = this.#probeResult;
    this.#probeResult = undefined;
    return r;
  }

  /** A parsed transport-cc feedback (`parseTwcc` of src/rtp) from the subscriber. */
  onFeedback(feedback: TwccFeedback, nowMs: number): void {
    const arrivalsUs = twccReceiveTimesUs(feedback);
    const offsetUs = this.#unwrapReference(feedback.referenceTime);
    const base = this.#sentSeqs.unwrap(feedback.baseSeq, false);
    let lost = 0;
    let total = 0;
    const history = this.#history;
    for (let i = 0; i < feedback.packetStatusCount; i++) {
      const at = ((base + i) & this.#mask) * FIELDS;
      const size = history[at + BYTES]!;
      // Not sent by us (or long forgotten), or already counted in an earlier feedback.
      if (history[at + SEQ] !== base + i || size < 0) continue;
      history[at + BYTES] = -1 - size;
      total++;
      const cluster = history[at + CLUSTER]!;
      if (feedback.statuses[i] === TwccStatus.NotReceived) {
        lost++;
        if (cluster >= 0) this.#probes.onFeedback(cluster, size, undefined);
        continue;
      }
      const arrivalMs = (arrivalsUs[i]! + offsetUs) / 1000;
      if (cluster >= 0) this.#probes.onFeedback(cluster, size, arrivalMs);
      this.#onArrival(size, history[at + SEND_MS]!, arrivalMs);
    }
    if (total === 0) return;
    const ackedBps = this.#acked.bitrateBps;
    const usage = this.#trendline.usage;
    // Overuse: a queue stands at the bottleneck, so the latest arrivals come at its rate; the
    // 500 ms window still counts the rate from before it formed (a first decrease from there
    // lands on a layer the link does not carry, whose keyframe then has to queue as well).
    const recentBps = usage === 'overusing' ? this.#acked.recentBitrateBps(RECENT_WINDOW_MS) : undefined;
    const decreaseFrom =
      recentBps !== undefined && ackedBps !== undefined ? Math.min(ackedBps, recentBps) : ackedBps;
    this.#delayBased.update(usage, decreaseFrom, nowMs, this.#rttMs);
    this.#lossBased.update(lost, total, ackedBps, nowMs);
    this.#applyProbeResult(this.#probes.takeResult());
  }

  /** A probe that proved more than the estimate raises it (both sides); one that proved less changes nothing. */
  #applyProbeResult(result: ProbeResult | undefined): void {
    if (!result) return;
    this.#probeResult = result;
    if (result.bitrateBps <= this.estimateBps) return;
    this.#delayBased.raiseTo(result.bitrateBps);
    this.#lossBased.raiseTo(result.bitrateBps);
  }

  #onArrival(bytes: number, sendMs: number, arrivalMs: number): void {
    this.#acked.add(arrivalMs, bytes);
    const offset = arrivalMs - sendMs;
    if (sendMs - this.#offsetWindowStartMs >= BASE_OFFSET_WINDOW_MS) {
      this.#previousMinOffsetMs = this.#minOffsetMs;
      this.#minOffsetMs = Number.POSITIVE_INFINITY;
      this.#offsetWindowStartMs = sendMs;
    }
    if (offset < this.#minOffsetMs) this.#minOffsetMs = offset;
    this.#lastOffsetMs = offset;
    const delta = this.#interArrival.add(sendMs, arrivalMs);
    if (delta) this.#trendline.update(delta);
  }

  /** Twice the slots: every remembered packet moves to its slot of the larger history. */
  #grow(): void {
    const old = this.#history;
    const mask = this.#mask * 2 + 1;
    const history = emptyHistory(mask + 1);
    for (let at = 0; at < old.length; at += FIELDS) {
      const ext = old[at + SEQ]!;
      if (ext < 0) continue;
      // Field by field: a subarray per packet would be thousands of objects at once.
      const to = (ext & mask) * FIELDS;
      for (let field = 0; field < FIELDS; field++) history[to + field] = old[at + field]!;
    }
    this.#history = history;
    this.#mask = mask;
  }

  /** Keeps receive times monotonic across the 24-bit reference time wrap (about 12 days). */
  #unwrapReference(referenceTime: number): number {
    if (this.#lastReferenceTime >= 0) {
      const diff = referenceTime - this.#lastReferenceTime;
      if (diff < -(1 << 23)) this.#referenceOffsetUs += REFERENCE_WRAP_US;
      else if (diff > 1 << 23) this.#referenceOffsetUs -= REFERENCE_WRAP_US;
    }
    this.#lastReferenceTime = referenceTime;
    return this.#referenceOffsetUs;
  }
}

function emptyHistory(slots: number): Float64Array {
  const history = new Float64Array(slots * FIELDS);
  for (let at = 0; at < history.length; at += FIELDS) {
    history[at + SEQ] = -1;
    history[at + CLUSTER] = -1;
  }
  return history;
}
