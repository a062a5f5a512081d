/**
 * The RTCP of one subscription, both ways: the subscriber's feedback consumed (PLI/FIR become
 * keyframe requests of the publisher's track, NACKs resends from the cache, transport-cc and REMB
 * feed the estimators, receiver reports give loss, jitter and RTT), our sender reports sent, and
 * the bandwidth estimate in use. Not what the estimate is used for (layer allocation and probes,
 * Subscription and bandwidth-probe.ts).
 */

import type { Clock } from '../../lib/clock.ts';
import { mediaCounters, mediaCounting } from '../../lib/media-counters.ts';
import { mediaHistograms } from '../../lib/media-histograms.ts';
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
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import type { RembEstimator } from '../qos/remb-estimator.ts';
import type { SendSideEstimator } from '../qos/send-side-estimator.ts';
import { RttEstimator, type SubscriberReportStats } from './connection-quality.ts';
import type { DownTrack } from './down-track.ts';

/** Feedback is trusted for allocation only after this long (the acknowledged rate needs a window). */
const ESTIMATOR_WARMUP_MS = 1500;

export interface SubscriptionRtcpOptions {
  clock: Clock;
  transport: WebRtcTransport;
  /** The subscription's DownTracks by our media SSRC, and by mid (sender reports go in that order). */
  bySsrc: ReadonlyMap<number, DownTrack>;
  downTracks: ReadonlyMap<string, DownTrack>;
  sendSideEstimator: SendSideEstimator;
  rembEstimator: RembEstimator;
  reportStats: SubscriberReportStats;
  /** A transport-cc feedback was taken in (a probe's verdict may be in it). */
  onTwcc: () => void;
}

export class SubscriptionRtcp {
  readonly #options: SubscriptionRtcpOptions;
  readonly #rtt = new RttEstimator();
  #rttMs: number | undefined;
  #firstTwccMs = -1;
  #lastTwccMs = -1;
  #firstRembMs = -1;

  constructor(options: SubscriptionRtcpOptions) {
    this.#options = options;
  }

  /** Whether the subscriber sends transport-cc feedback (a probe needs it). */
  get twccSeen(): boolean {
    return this.#firstTwccMs >= 0;
  }

  /** The bandwidth estimate in use: transport-cc when the subscriber sends it, else REMB; undefined before either. */
  get estimateBps(): number | undefined {
    const now = this.#options.clock.nowMs();
    if (this.#firstTwccMs >= 0 && now - this.#firstTwccMs >= ESTIMATOR_WARMUP_MS)
      return this.#options.sendSideEstimator.estimateBps;
    if (this.#firstTwccMs < 0 && this.#firstRembMs >= 0) return this.#options.rembEstimator.estimateBps;
    return undefined;
  }

  /**
   * How long the bottleneck's queue takes to drain at `estimateBps`, ms: the bytes no feedback
   * reported yet, less what arrived since the last feedback (it covers what had arrived when sent).
   */
  drainMs(estimateBps: number): number {
    if (this.#lastTwccMs < 0 || !(estimateBps > 0)) return 0;
    const now = this.#options.clock.nowMs();
    const inFlightMs = (this.#options.sendSideEstimator.bytesInFlight(now) * 8 * 1000) / estimateBps;
    return Math.max(0, inFlightMs - (now - this.#lastTwccMs));
  }

  /** Takes a compound RTCP packet from the subscriber; true when a bandwidth estimate changed. */
  onRtcp(packet: Buffer): boolean {
    let estimateChanged = false;
    forEachRtcp(packet, (p) => {
      if (p.type === RtcpType.PSFB && (p.count === PsfbFmt.PLI || p.count === PsfbFmt.FIR))
        this.#onKeyframeRequest(packet, p);
      else if (p.type === RtcpType.RTPFB && p.count === RtpfbFmt.NACK) this.#onNack(packet, p);
      else if (p.type === RtcpType.RTPFB && p.count === RtpfbFmt.TWCC) {
        if (this.#onTwcc(packet, p)) estimateChanged = true;
      } else if (p.type === RtcpType.PSFB && p.count === PsfbFmt.REMB) {
        if (this.#onRemb(packet, p)) estimateChanged = true;
      } else if (p.type === RtcpType.RR && p.count > 0) this.#onReceiverReport(packet, p);
    });
    return estimateChanged;
  }

  /** A sender report for each DownTrack that has sent (while connected). */
  sendReports(): void {
    const { transport, clock } = this.#options;
    if (transport.state !== 'connected') return;
    for (const down of this.#options.downTracks.values()) {
      const sr = down.senderReport();
      if (!sr) continue;
      transport.sendRtcp(
        buildSenderReport(down.ssrc, sr.ntpMs, sr.rtpTimestamp, down.packetsSent, down.octetsSent),
      );
      this.#rtt.senderReportSent(sr.ntpMs, clock.nowMs());
    }
  }

  #onKeyframeRequest(packet: Buffer, p: RtcpHeaderView): void {
    if (mediaCounting.on) {
      if (p.count === PsfbFmt.FIR) mediaCounters.firsReceived++;
      else mediaCounters.plisReceived++;
    }
    const ssrcs = p.count === PsfbFmt.FIR ? firSsrcs(packet, p) : [feedbackMediaSsrc(packet, p)];
    for (const ssrc of ssrcs) {
      const down = ssrc === undefined ? undefined : this.#options.bySsrc.get(ssrc);
      down?.upTrack.requestKeyframe(down.currentSsrc);
    }
  }

  #onNack(packet: Buffer, p: RtcpHeaderView): void {
    if (mediaCounting.on) mediaCounters.nacksReceived++;
    const ssrc = feedbackMediaSsrc(packet, p);
    // A resend arrives after the round trip and the bottleneck's queue: not sooner again.
    const interval = (this.#rttMs ?? 0) + this.#options.sendSideEstimator.queueDelayMs;
    if (ssrc !== undefined)
      this.#options.bySsrc.get(ssrc)?.retransmit(nackSequenceNumbers(packet, p), interval);
  }

  #onTwcc(packet: Buffer, p: RtcpHeaderView): boolean {
    const feedback = parseTwcc(packet, p);
    if (!feedback) return false;
    const { clock } = this.#options;
    if (this.#firstTwccMs < 0) this.#firstTwccMs = clock.nowMs();
    this.#lastTwccMs = clock.nowMs();
    this.#options.sendSideEstimator.onFeedback(feedback, clock.nowMs());
    this.#options.onTwcc();
    return true;
  }

  #onRemb(packet: Buffer, p: RtcpHeaderView): boolean {
    const bps = rembBitrateBps(packet, p);
    if (bps === undefined) return false;
    if (this.#firstRembMs < 0) this.#firstRembMs = this.#options.clock.nowMs();
    this.#options.rembEstimator.onRemb(bps, this.#options.clock.nowMs());
    return true;
  }

  /** Loss, jitter and RTT (LSR/DLSR against our sender reports) of the streams we send. */
  #onReceiverReport(packet: Buffer, p: RtcpHeaderView): void {
    const rr = parseReceiverReport(packet, p);
    if (!rr) return;
    const nowMs = this.#options.clock.nowMs();
    for (const block of rr.reports) {
      const down = this.#options.bySsrc.get(block.ssrc);
      if (!down) continue;
      const rtt = this.#rtt.rttMs(block.lastSr, block.delaySinceLastSr, nowMs);
      const jitterMs = (block.jitter / down.upTrack.codec.clockRate) * 1000;
      this.#options.reportStats.onReportBlock(block.fractionLost / 256, jitterMs, rtt);
      if (mediaCounting.on) {
        mediaHistograms.fractionLost.observe(block.fractionLost / 256);
        mediaHistograms.jitter.observe(jitterMs / 1000);
        if (rtt !== undefined) mediaHistograms.rtt.observe(rtt / 1000);
      }
      if (rtt !== undefined) {
        // Smoothed (RFC 6298's 1/8 gain); paces resends and the estimator's decreases.
        this.#rttMs = this.#rttMs === undefined ? rtt : 0.875 * this.#rttMs + 0.125 * rtt;
        this.#options.sendSideEstimator.setRttMs(this.#rttMs);
      }
    }
  }
}
