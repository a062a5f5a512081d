/**
 * RTP/RTCP header access on raw buffers (RFC 3550 §5.1, RFC 8285 extensions), bounds-checked:
 * functions return -1 / false for malformed input instead of throwing.
 */

export const RTP_MIN_HEADER_BYTES = 12;

/** RFC 5761 §4: RTP and RTCP share a port; payload types 64–95 (with the marker bit: 192–223) are RTCP. */
export function isRtcp(buf: Buffer): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1]! & 0x7f;
  return pt >= 64 && pt <= 95;
}

/**
 * Length of the RTP header including CSRCs and the extension block, or -1 when the packet is not
 * a valid RTP packet (version, lengths, padding).
 */
export function rtpHeaderBytes(buf: Buffer): number {
  if (buf.length < RTP_MIN_HEADER_BYTES || buf[0]! >> 6 !== 2) return -1;
  let length = RTP_MIN_HEADER_BYTES + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < length + 4) return -1;
    length += 4 + buf.readUInt16BE(length + 2) * 4;
  }
  return length <= buf.length ? length : -1;
}

/** RTCP: a packet long enough for its header and sender SSRC, version 2 (RFC 3550 §6.4). */
export function isValidRtcp(buf: Buffer): boolean {
  return buf.length >= 8 && buf[0]! >> 6 === 2 && (buf.readUInt16BE(2) + 1) * 4 <= buf.length;
}
