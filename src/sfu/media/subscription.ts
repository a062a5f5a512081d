import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import {
  buildSenderReport,
  feedbackMediaSsrc,
  firSsrcs,
  forEachRtcp,
  nackSequenceNumbers,
  PsfbFmt,
  RtcpType,
  RtpfbFmt,
} from '../../rtp/rtcp.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import { DownTrack, type DownTrackOptions } from './down-track.ts';
import type { UpTrack } from './up-track.ts';

const SENDER_REPORT_INTERVAL_MS = 1000;

/**
 * One subscriber receiving one publisher's tracks over its own transport (the Waterbus topology:
 * a connection per subscriber × publisher). Subscriber feedback is consumed here, never forwarded
 * raw: PLI/FIR become throttled keyframe requests, NACKs are answered from the cache.
 *
 * Lifecycle: created by subscribe → answer applied → connected → close() (either side left).
 */
export class Subscription {
  readonly subscriberId: ParticipantId;
  readonly targetId: ParticipantId;
  readonly transport: WebRtcTransport;
  readonly downTracks = new Map<string, DownTrack>();
  readonly #bySsrc = new Map<number, DownTrack>();
  readonly #stopTimer: () => void;

  constructor(options: {
    subscriberId: ParticipantId;
    targetId: ParticipantId;
    transport: WebRtcTransport;
    clock: Clock;
  }) {
    this.subscriberId = options.subscriberId;
    this.targetId = options.targetId;
    this.transport = options.transport;
    this.transport.onRtcp = (packet) => this.#onRtcp(packet);
    // Subscribers send no media to us; anything else on this transport is ignored.
    this.transport.onRtp = null;
    this.#stopTimer = options.clock.setInterval(() => this.#sendReports(), SENDER_REPORT_INTERVAL_MS);
  }

  /** Forwards `upTrack` under new SSRCs with the subscriber's payload types and extension ids. */
  addTrack(upTrack: UpTrack, options: Omit<DownTrackOptions, 'upTrack' | 'send'>): DownTrack {
    const down = new DownTrack({ ...options, upTrack, send: (p) => this.transport.sendRtp(p) });
    this.downTracks.set(upTrack.mid, down);
    this.#bySsrc.set(options.ssrc, down);
    // A new subscriber needs a keyframe to start decoding.
    upTrack.requestKeyframe();
    return down;
  }

  /** The subscriber's answer: retransmissions go over RTX on these tracks (by media SSRC), plain on the others. */
  useRtx(mediaSsrcs: ReadonlySet<number>): void {
    for (const [ssrc, down] of this.#bySsrc) down.rtxEnabled = mediaSsrcs.has(ssrc);
  }

  close(): void {
    this.#stopTimer();
    for (const d of this.downTracks.values()) d.close();
    this.downTracks.clear();
    this.#bySsrc.clear();
    this.transport.close();
  }

  #onRtcp(packet: Buffer): void {
    forEachRtcp(packet, (p) => {
      if (p.type === RtcpType.PSFB && (p.count === PsfbFmt.PLI || p.count === PsfbFmt.FIR)) {
        const ssrcs = p.count === PsfbFmt.FIR ? firSsrcs(packet, p) : [feedbackMediaSsrc(packet, p)];
        for (const ssrc of ssrcs) {
          const down = ssrc === undefined ? undefined : this.#bySsrc.get(ssrc);
          down?.upTrack.requestKeyframe(down.currentSsrc);
        }
      } else if (p.type === RtcpType.RTPFB && p.count === RtpfbFmt.NACK) {
        const ssrc = feedbackMediaSsrc(packet, p);
        if (ssrc !== undefined) this.#bySsrc.get(ssrc)?.retransmit(nackSequenceNumbers(packet, p));
      }
      // RR, REMB and transport-cc: stats and bandwidth estimation (issue 4); nothing to forward.
    });
  }

  #sendReports(): void {
    if (this.transport.state !== 'connected') return;
    for (const down of this.downTracks.values()) {
      const sr = down.senderReport();
      if (!sr) continue;
      this.transport.sendRtcp(
        buildSenderReport(down.ssrc, sr.ntpMs, sr.rtpTimestamp, down.packetsSent, down.octetsSent),
      );
    }
  }
}
