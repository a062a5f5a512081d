/**
 * RTCP common header (RFC 3550 §6.4) and compound-packet iteration, bounds-checked: a malformed
 * compound stops the iteration and is reported, never read past.
 */

export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, RTPFB: 205, PSFB: 206 } as const;
/** RTPFB feedback message types (RFC 4585 §6.2, draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). */
export const RtpfbFmt = { NACK: 1, TWCC: 15 } as const;
/** PSFB feedback message types (RFC 4585 §6.3, RFC 5104 §4.3, draft-alvestrand-rmcat-remb §2.2). */
export const PsfbFmt = { PLI: 1, FIR: 4, REMB: 15 } as const;

export const RTCP_HEADER_BYTES = 4;
/** Header plus the sender SSRC. */
export const RTCP_MIN_PACKET_BYTES = 8;
/** Header, sender SSRC and media source SSRC of a feedback message (RFC 4585 §6.1). */
export const RTCP_FEEDBACK_HEADER_BYTES = 12;

export interface RtcpHeaderView {
  type: number;
  /** Report count, source count or feedback message type (the 5-bit field). */
  count: number;
  offset: number;
  /** Bytes of this packet including its header and padding. */
  bytes: number;
  /** Bytes without the trailing padding (P bit); absent means no padding. */
  contentBytes?: number;
}

/** Calls `visit` for each packet of a compound as it goes; false when the compound is malformed. */
export function forEachRtcp(buf: Buffer, visit: (p: RtcpHeaderView) => void): boolean {
  const it = new RtcpIterator(buf);
  while (it.next()) {
    visit({
      type: it.type,
      count: it.count,
      offset: it.offset,
      bytes: it.bytes,
      contentBytes: it.contentBytes,
    });
  }
  return !it.malformed;
}

/**
 * Allocation-free walk over a compound RTCP packet: `next()` moves to the next packet and is false
 * at the end; `malformed` then says whether the compound ended badly (bad version, a length past
 * the buffer, bad padding, or bytes left over).
 */
export class RtcpIterator implements RtcpHeaderView {
  type = 0;
  count = 0;
  offset = 0;
  bytes = 0;
  /** Bytes of this packet without its padding (RFC 3550 §6.4.1: P bit, count in the last byte). */
  contentBytes = 0;
  malformed = false;
  #buf: Uint8Array;
  #next = 0;

  constructor(buf: Uint8Array = EMPTY) {
    this.#buf = buf;
  }

  /** Starts over on another compound (reuse one iterator per call site). */
  reset(buf: Uint8Array): this {
    this.#buf = buf;
    this.#next = 0;
    this.malformed = false;
    this.offset = 0;
    this.bytes = 0;
    return this;
  }

  next(): boolean {
    const buf = this.#buf;
    const at = this.#next;
    if (this.malformed || at >= buf.length) return false;
    if (at + RTCP_HEADER_BYTES > buf.length || buf[at]! >> 6 !== 2) return this.#fail();
    const bytes = (((buf[at + 2]! << 8) | buf[at + 3]!) + 1) * 4;
    if (at + bytes > buf.length) return this.#fail();
    let padding = 0;
    if (buf[at]! & 0x20) {
      padding = buf[at + bytes - 1]!;
      if (padding === 0 || padding > bytes - RTCP_HEADER_BYTES) return this.#fail();
    }
    this.type = buf[at + 1]!;
    this.count = buf[at]! & 0x1f;
    this.offset = at;
    this.bytes = bytes;
    this.contentBytes = bytes - padding;
    this.#next = at + bytes;
    return true;
  }

  #fail(): false {
    this.malformed = true;
    return false;
  }
}

const EMPTY = new Uint8Array(0);

/** True when every packet of the compound is well formed and they fill the buffer exactly. */
export function isValidRtcpCompound(buf: Uint8Array): boolean {
  const it = new RtcpIterator(buf);
  let packets = 0;
  while (it.next()) packets++;
  return packets > 0 && !it.malformed;
}

/** Sender SSRC of any RTCP packet, or undefined when too short. */
export function rtcpSenderSsrc(buf: Buffer, p: RtcpHeaderView): number | undefined {
  return p.bytes >= RTCP_MIN_PACKET_BYTES ? buf.readUInt32BE(p.offset + 4) : undefined;
}

/** Media source SSRC of a feedback message (RTPFB/PSFB), or undefined when too short. */
export function feedbackMediaSsrc(buf: Buffer, p: RtcpHeaderView): number | undefined {
  return p.bytes >= RTCP_FEEDBACK_HEADER_BYTES ? buf.readUInt32BE(p.offset + 8) : undefined;
}

/** Writes a version-2 header without padding; `bytes` is the whole packet (a multiple of 4). */
export function writeRtcpHeader(
  out: Buffer,
  offset: number,
  count: number,
  type: number,
  bytes: number,
): void {
  out[offset] = 0x80 | (count & 0x1f);
  out[offset + 1] = type;
  out.writeUInt16BE(bytes / 4 - 1, offset + 2);
}

/** Header, sender SSRC and media SSRC of a feedback message (RFC 4585 §6.1). */
export function writeFeedbackHeader(
  out: Buffer,
  offset: number,
  type: number,
  fmt: number,
  bytes: number,
  senderSsrc: number,
  mediaSsrc: number,
): void {
  writeRtcpHeader(out, offset, fmt, type, bytes);
  out.writeUInt32BE(senderSsrc >>> 0, offset + 4);
  out.writeUInt32BE(mediaSsrc >>> 0, offset + 8);
}

/** End offset of a packet's content (without padding), clamped to the buffer. */
export function contentEnd(buf: Uint8Array, p: RtcpHeaderView): number {
  return Math.min(p.offset + (p.contentBytes ?? p.bytes), buf.length);
}

/** True when `bytes` fit into `out` at `offset`. */
export function fits(out: Uint8Array, offset: number, bytes: number): boolean {
  return offset >= 0 && offset + bytes <= out.length;
}
