import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { RtpMunger } from '../rtp-munger.ts';
import type { MediaPacket, TrackSink, UpTrack } from './up-track.ts';

const HISTORY = 1024;

/**
 * One UpTrack forwarded to one subscriber: picks the source layer (switching only at a keyframe
 * of the target layer), rewrites SSRC, payload type, sequence numbers and timestamps, strips the
 * publisher's header extensions, and answers the subscriber's NACKs from the UpTrack's cache.
 *
 * Lifecycle: created by a subscription → bound to the UpTrack (`upTrack.sinks`) → close().
 */
export class DownTrack implements TrackSink {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly upTrack: UpTrack;
  readonly #send: (packet: Buffer) => void;
  readonly #munger = new RtpMunger();
  #currentSsrc: number | undefined;
  #targetSsrc: number | undefined;
  /** Out sequence number → source sequence number and SSRC, for NACKs. */
  readonly #historySeq = new Int32Array(HISTORY).fill(-1);
  readonly #historySourceSeq = new Uint16Array(HISTORY);
  readonly #historySsrc = new Uint32Array(HISTORY);
  readonly #historyTimestamp = new Uint32Array(HISTORY);
  packetsSent = 0;
  octetsSent = 0;
  retransmitted = 0;
  #closed = false;

  constructor(options: {
    upTrack: UpTrack;
    ssrc: number;
    payloadType: number;
    send: (packet: Buffer) => void;
  }) {
    this.upTrack = options.upTrack;
    this.ssrc = options.ssrc;
    this.payloadType = options.payloadType;
    this.#send = options.send;
    options.upTrack.sinks.add(this);
  }

  get currentSsrc(): number | undefined {
    return this.#currentSsrc;
  }

  writeRtp(packet: MediaPacket): void {
    if (this.#closed) return;
    // Until told otherwise, forward the best layer the publisher sends.
    this.#targetSsrc ??= this.upTrack.bestLayerSsrc;
    if (packet.ssrc !== this.#currentSsrc) {
      const audio = this.upTrack.kind === 'audio';
      const switchable = packet.ssrc === (this.#targetSsrc ?? packet.ssrc) && (audio || packet.keyframe);
      if (!switchable) {
        if (this.#currentSsrc === undefined) this.upTrack.requestKeyframe(this.#targetSsrc);
        return;
      }
      this.#currentSsrc = packet.ssrc;
    }
    const mapped = this.#munger.forward(packet.ssrc, packet.sequenceNumber, packet.timestamp);
    if (!mapped) return;
    const out = this.#rewrite(packet.buffer, packet.headerBytes, mapped.sequenceNumber, mapped.timestamp);
    const slot = mapped.sequenceNumber % HISTORY;
    this.#historySeq[slot] = mapped.sequenceNumber;
    this.#historySourceSeq[slot] = packet.sequenceNumber;
    this.#historySsrc[slot] = packet.ssrc;
    this.#historyTimestamp[slot] = mapped.timestamp;
    this.packetsSent++;
    this.octetsSent += out.length - 12;
    this.#send(out);
  }

  /**
   * Until bandwidth allocation chooses layers (issue 4), a DownTrack follows the best layer the
   * publisher sends: browsers start simulcast with the low layers and add the top one as their
   * send bitrate ramps up.
   */
  layerAdded(ssrc: number): void {
    if (ssrc === this.upTrack.bestLayerSsrc) this.setTargetSsrc(ssrc);
  }

  /** Prefer another layer; the switch happens at its next keyframe, which is requested now. */
  setTargetSsrc(ssrc: number): void {
    if (this.#targetSsrc === ssrc) return;
    this.#targetSsrc = ssrc;
    if (ssrc !== this.#currentSsrc) this.upTrack.requestKeyframe(ssrc);
  }

  /** The subscriber lost these (our) sequence numbers: resend what is still cached. */
  retransmit(sequenceNumbers: number[]): void {
    for (const seq of sequenceNumbers) {
      const slot = seq % HISTORY;
      if (this.#historySeq[slot] !== seq) continue;
      const cached = this.upTrack.cached(this.#historySsrc[slot]!, this.#historySourceSeq[slot]!);
      if (!cached) continue;
      const headerBytes = rtpHeaderBytes(cached);
      if (headerBytes < 0) continue;
      this.retransmitted++;
      this.#send(this.#rewrite(cached, headerBytes, seq, this.#historyTimestamp[slot]!));
    }
  }

  /** The publisher's sender report for the current layer, in our timestamp space (A/V sync). */
  senderReport(): { ntpMs: number; rtpTimestamp: number } | undefined {
    if (this.#currentSsrc === undefined) return undefined;
    const sr = this.upTrack.senderReport(this.#currentSsrc);
    if (!sr) return undefined;
    return { ntpMs: sr.ntpMs, rtpTimestamp: (sr.rtpTimestamp + this.#munger.timestampOffset) >>> 0 };
  }

  close(): void {
    this.#closed = true;
    this.upTrack.sinks.delete(this);
  }

  /** A new packet: a 12-byte header (no CSRCs, no extensions) with our values, then the payload. */
  #rewrite(source: Buffer, headerBytes: number, seq: number, timestamp: number): Buffer {
    const payloadBytes = source.length - headerBytes;
    const out = Buffer.allocUnsafe(12 + payloadBytes);
    out[0] = 0x80 | (source[0]! & 0x20);
    out[1] = (source[1]! & 0x80) | this.payloadType;
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(timestamp, 4);
    out.writeUInt32BE(this.ssrc, 8);
    source.copy(out, 12, headerBytes);
    return out;
  }
}
