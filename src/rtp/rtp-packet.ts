/**
 * RTP packets as raw Buffers (RFC 3550 §5.1), read and rewritten in place. Every function is
 * bounds-checked: malformed or short input gives -1 / false / undefined, never a throw and never
 * a read past the buffer. Header extensions: see rtp-extensions.ts.
 */

export const RTP_MIN_HEADER_BYTES = 12;
const VERSION = 2;

/** Where the parts of a valid RTP packet are (filled by readRtpLayout; reuse one per call site). */
export interface RtpLayout {
  /** Header incl. CSRCs and the extension block = offset of the payload. */
  headerBytes: number;
  payloadBytes: number;
  /** Trailing padding (P bit, RFC 3550 §5.1), including its count byte. */
  paddingBytes: number;
  /** Extension block profile (0xBEDE, 0x100X, …) or -1 when there is none. */
  extensionProfile: number;
  /** Offset of the first byte after the 4-byte extension header, or -1. */
  extensionOffset: number;
  /** Bytes of extension data after the 4-byte extension header. */
  extensionBytes: number;
}

export function newRtpLayout(): RtpLayout {
  return {
    headerBytes: 0,
    payloadBytes: 0,
    paddingBytes: 0,
    extensionProfile: -1,
    extensionOffset: -1,
    extensionBytes: 0,
  };
}

/**
 * Length of the RTP header including CSRCs and the extension block, or -1 when the header is not
 * valid (version, truncated CSRCs or extension). Padding is not checked (it may be encrypted).
 */
export function rtpHeaderBytes(buf: Uint8Array): number {
  if (buf.length < RTP_MIN_HEADER_BYTES || buf[0]! >> 6 !== VERSION) return -1;
  let length = RTP_MIN_HEADER_BYTES + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < length + 4) return -1;
    length += 4 + ((buf[length + 2]! << 8) | buf[length + 3]!) * 4;
  }
  return length <= buf.length ? length : -1;
}

/**
 * Validates a whole (decrypted) RTP packet, header and padding, and fills `out`; false when it is
 * malformed (RFC 3550 §5.1: a padding count of 0 or larger than the payload is invalid).
 */
export function readRtpLayout(buf: Uint8Array, out: RtpLayout): boolean {
  const headerBytes = rtpHeaderBytes(buf);
  if (headerBytes < 0) return false;
  const paddingBytes = rtpPaddingBytes(buf, headerBytes);
  if (paddingBytes < 0) return false;
  out.headerBytes = headerBytes;
  out.paddingBytes = paddingBytes;
  out.payloadBytes = buf.length - headerBytes - paddingBytes;
  if (buf[0]! & 0x10) {
    const at = RTP_MIN_HEADER_BYTES + (buf[0]! & 0x0f) * 4;
    out.extensionProfile = (buf[at]! << 8) | buf[at + 1]!;
    out.extensionOffset = at + 4;
    out.extensionBytes = headerBytes - at - 4;
  } else {
    out.extensionProfile = -1;
    out.extensionOffset = -1;
    out.extensionBytes = 0;
  }
  return true;
}

/**
 * Trailing padding of a packet whose header is `headerBytes` long (its count byte included), 0
 * without the P bit, or -1 when the count is 0 or larger than what follows the header
 * (RFC 3550 §5.1).
 */
export function rtpPaddingBytes(buf: Uint8Array, headerBytes: number): number {
  if ((buf[0]! & 0x20) === 0) return 0;
  const paddingBytes = buf.length > headerBytes ? buf[buf.length - 1]! : 0;
  return paddingBytes === 0 || headerBytes + paddingBytes > buf.length ? -1 : paddingBytes;
}

/** True for a packet that passes readRtpLayout. */
export function isValidRtp(buf: Uint8Array): boolean {
  return readRtpLayout(buf, SCRATCH_LAYOUT);
}

const SCRATCH_LAYOUT = newRtpLayout();

/** Offset of the payload (= header length), or -1 when the header is invalid. */
export function rtpPayloadOffset(buf: Uint8Array): number {
  return rtpHeaderBytes(buf);
}

/** Payload length without padding, or -1 when the packet is invalid. */
export function rtpPayloadBytes(buf: Uint8Array): number {
  return readRtpLayout(buf, SCRATCH_LAYOUT) ? SCRATCH_LAYOUT.payloadBytes : -1;
}

// Fixed-header fields. Getters return -1 (or false) when the buffer is shorter than 12 bytes;
// setters return false and write nothing.

export function getRtpPayloadType(buf: Uint8Array): number {
  return buf.length < RTP_MIN_HEADER_BYTES ? -1 : buf[1]! & 0x7f;
}

export function setRtpPayloadType(buf: Uint8Array, payloadType: number): boolean {
  if (buf.length < RTP_MIN_HEADER_BYTES) return false;
  buf[1] = (buf[1]! & 0x80) | (payloadType & 0x7f);
  return true;
}

export function getRtpMarker(buf: Uint8Array): boolean {
  return buf.length >= RTP_MIN_HEADER_BYTES && (buf[1]! & 0x80) !== 0;
}

export function setRtpMarker(buf: Uint8Array, marker: boolean): boolean {
  if (buf.length < RTP_MIN_HEADER_BYTES) return false;
  buf[1] = marker ? buf[1]! | 0x80 : buf[1]! & 0x7f;
  return true;
}

export function getRtpSeq(buf: Uint8Array): number {
  return buf.length < RTP_MIN_HEADER_BYTES ? -1 : (buf[2]! << 8) | buf[3]!;
}

export function setRtpSeq(buf: Uint8Array, seq: number): boolean {
  if (buf.length < RTP_MIN_HEADER_BYTES) return false;
  buf[2] = (seq >>> 8) & 0xff;
  buf[3] = seq & 0xff;
  return true;
}

export function getRtpTimestamp(buf: Uint8Array): number {
  return buf.length < RTP_MIN_HEADER_BYTES ? -1 : readU32(buf, 4);
}

export function setRtpTimestamp(buf: Uint8Array, timestamp: number): boolean {
  if (buf.length < RTP_MIN_HEADER_BYTES) return false;
  writeU32(buf, 4, timestamp);
  return true;
}

export function getRtpSsrc(buf: Uint8Array): number {
  return buf.length < RTP_MIN_HEADER_BYTES ? -1 : readU32(buf, 8);
}

export function setRtpSsrc(buf: Uint8Array, ssrc: number): boolean {
  if (buf.length < RTP_MIN_HEADER_BYTES) return false;
  writeU32(buf, 8, ssrc);
  return true;
}

/** CSRC count (CC), or -1 when the buffer is too short. */
export function getRtpCsrcCount(buf: Uint8Array): number {
  return buf.length < RTP_MIN_HEADER_BYTES ? -1 : buf[0]! & 0x0f;
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function writeU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = (value >>> 24) & 0xff;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}

// Demultiplexing.

/** RFC 5761 §4: RTP and RTCP share a port; payload types 64–95 (with the marker bit: 192–223) are RTCP. */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1]! & 0x7f;
  return pt >= 64 && pt <= 95;
}

/** RTCP: version 2, long enough for its header and sender SSRC and for its own length field (RFC 3550 §6.4). */
export function isValidRtcp(buf: Uint8Array): boolean {
  return buf.length >= 8 && buf[0]! >> 6 === VERSION && (((buf[2]! << 8) | buf[3]!) + 1) * 4 <= buf.length;
}

export type PacketClass = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'unknown';

const STUN_HEADER_BYTES = 20;
const DTLS_RECORD_HEADER_BYTES = 13;
const RTCP_MIN_BYTES = 8;

/**
 * RFC 7983 §7 demultiplexing by the first byte: 0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP (told
 * apart by RFC 5761 payload types). ZRTP (16–19), TURN channels (64–79) and anything shorter
 * than its minimal header are 'unknown'.
 */
export function classifyPacket(buf: Uint8Array): PacketClass {
  if (buf.length === 0) return 'unknown';
  const first = buf[0]!;
  if (first <= 3) return buf.length >= STUN_HEADER_BYTES ? 'stun' : 'unknown';
  if (first >= 20 && first <= 63) return buf.length >= DTLS_RECORD_HEADER_BYTES ? 'dtls' : 'unknown';
  if (first >= 128 && first <= 191) {
    if (isRtcp(buf)) return buf.length >= RTCP_MIN_BYTES ? 'rtcp' : 'unknown';
    return buf.length >= RTP_MIN_HEADER_BYTES ? 'rtp' : 'unknown';
  }
  return 'unknown';
}
