import {
  type ExtensionRange,
  findHeaderExtension,
  remapHeaderExtensionIds,
} from '../../rtp/rtp-extensions.ts';
import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { RtpMunger } from '../rtp-munger.ts';
import type { MediaPacket, TrackSink, UpTrack } from './up-track.ts';

const HISTORY = 1024;
const RANGE: ExtensionRange = { offset: 0, length: 0 };
const NO_EXTENSIONS = new Uint8Array(256);
/** abs-send-time is 6.18 fixed-point seconds in 24 bits: 2^18 / 1000 units per millisecond. */
const ABS_SEND_TIME_UNITS_PER_MS = 262.144;

export interface DownTrackOptions {
  upTrack: UpTrack;
  ssrc: number;
  payloadType: number;
  /** The RTX stream (RFC 4588) offered for retransmissions; used once the answer accepts it. */
  rtx?: { ssrc: number; payloadType: number } | undefined;
  /** Publisher extension id → subscriber extension id (0: dropped). */
  extensionIds?: Uint8Array | undefined;
  /** The subscriber's id for abs-send-time, rewritten with our send time; 0 when not sent. */
  absSendTimeId?: number | undefined;
  send: (packet: Buffer) => void;
}

/**
 * One UpTrack forwarded to one subscriber: picks the source layer (switching only at a keyframe
 * of the target layer), rewrites SSRC, payload type, sequence numbers and timestamps, maps the
 * forwarded header extensions to the subscriber's ids (dropping the others and CSRCs), and answers
 * the subscriber's NACKs from the UpTrack's cache, over RTX when negotiated.
 *
 * Lifecycle: created by a subscription → bound to the UpTrack (`upTrack.sinks`) → close().
 */
export class DownTrack implements TrackSink {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly upTrack: UpTrack;
  readonly rtx: { ssrc: number; payloadType: number } | undefined;
  /** Set from the subscriber's answer: whether it accepted RTX for this track. */
  rtxEnabled = false;
  readonly #extensionIds: Uint8Array;
  readonly #absSendTimeId: number;
  readonly #send: (packet: Buffer) => void;
  readonly #munger = new RtpMunger();
  #rtxSequenceNumber = Math.floor(Math.random() * 0x10000);
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

  constructor(options: DownTrackOptions) {
    this.upTrack = options.upTrack;
    this.ssrc = options.ssrc;
    this.payloadType = options.payloadType;
    this.rtx = options.rtx;
    this.#extensionIds = options.extensionIds ?? NO_EXTENSIONS;
    this.#absSendTimeId = options.absSendTimeId ?? 0;
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
    const out = this.#rewrite(packet.buffer, packet.headerBytes, mapped.sequenceNumber, mapped.timestamp, -1);
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
      // RFC 4588 §4: on RTX, the original sequence number leads the payload.
      this.#send(
        this.#rewrite(cached, headerBytes, seq, this.#historyTimestamp[slot]!, this.rtxEnabled ? seq : -1),
      );
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

  /**
   * A new packet with our header: SSRC, payload type, sequence number and timestamp, no CSRCs, the
   * extension block copied with ids mapped (left out when the source's is malformed), then the
   * payload — preceded by `osn` when it is a retransmission over RTX (`osn` ≥ 0).
   */
  #rewrite(source: Buffer, headerBytes: number, seq: number, timestamp: number, osn: number): Buffer {
    const rtx = osn >= 0 && this.rtx !== undefined;
    const out = this.#build(
      source,
      headerBytes,
      rtx ? this.#nextRtxSequenceNumber() : seq,
      timestamp,
      rtx,
      true,
    );
    if (rtx) out.writeUInt16BE(osn, out.length - (source.length - headerBytes) - 2);
    return out;
  }

  #build(
    source: Buffer,
    headerBytes: number,
    seq: number,
    timestamp: number,
    rtx: boolean,
    withExtensions: boolean,
  ): Buffer {
    const extensionAt = 12 + (source[0]! & 0x0f) * 4;
    const copyExtensions =
      withExtensions && (source[0]! & 0x10) !== 0 && this.#extensionIds !== NO_EXTENSIONS;
    const extensionBytes = copyExtensions ? headerBytes - extensionAt : 0;
    const payloadAt = 12 + extensionBytes + (rtx ? 2 : 0);
    const out = Buffer.allocUnsafe(payloadAt + source.length - headerBytes);
    out[0] = 0x80 | (source[0]! & 0x20) | (extensionBytes > 0 ? 0x10 : 0);
    out[1] = (source[1]! & 0x80) | (rtx ? this.rtx!.payloadType : this.payloadType);
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(timestamp, 4);
    out.writeUInt32BE(rtx ? this.rtx!.ssrc : this.ssrc, 8);
    if (extensionBytes > 0) {
      source.copy(out, 12, extensionAt, headerBytes);
      // A malformed block is never written to: the packet goes without extensions.
      if (!remapHeaderExtensionIds(out, this.#extensionIds))
        return this.#build(source, headerBytes, seq, timestamp, rtx, false);
      if (this.#absSendTimeId !== 0) this.#stampAbsSendTime(out);
    }
    source.copy(out, payloadAt, headerBytes);
    return out;
  }

  /** abs-send-time is our send time: the subscriber's receive-side estimate measures our path. */
  #stampAbsSendTime(out: Buffer): void {
    if (!findHeaderExtension(out, this.#absSendTimeId, RANGE) || RANGE.length !== 3) return;
    const units = Math.floor(performance.now() * ABS_SEND_TIME_UNITS_PER_MS) & 0xffffff;
    out.writeUIntBE(units, RANGE.offset, 3);
  }

  #nextRtxSequenceNumber(): number {
    this.#rtxSequenceNumber = (this.#rtxSequenceNumber + 1) & 0xffff;
    return this.#rtxSequenceNumber;
  }
}
