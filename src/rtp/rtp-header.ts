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

/**
 * The value of header extension `id` (RFC 8285 one-byte 0xBEDE or two-byte 0x100X form) as a view
 * into `buf`, or undefined when absent or malformed.
 */
export function headerExtension(buf: Buffer, id: number): Buffer | undefined {
  if (buf.length < 16 || (buf[0]! & 0x10) === 0) return undefined;
  const start = 12 + (buf[0]! & 0x0f) * 4;
  if (buf.length < start + 4) return undefined;
  const profile = buf.readUInt16BE(start);
  const end = start + 4 + buf.readUInt16BE(start + 2) * 4;
  if (end > buf.length) return undefined;
  const twoByte = (profile & 0xfff0) === 0x1000;
  if (profile !== 0xbede && !twoByte) return undefined;
  let i = start + 4;
  while (i < end) {
    const first = buf[i]!;
    if (first === 0) {
      i++; // padding
      continue;
    }
    let extId: number;
    let length: number;
    if (twoByte) {
      if (i + 2 > end) return undefined;
      extId = first;
      length = buf[i + 1]!;
      i += 2;
    } else {
      extId = first >> 4;
      length = (first & 0x0f) + 1;
      // id 15 ends the one-byte block (RFC 8285 §4.2).
      if (extId === 15) return undefined;
      i += 1;
    }
    if (i + length > end) return undefined;
    if (extId === id) return buf.subarray(i, i + length);
    i += length;
  }
  return undefined;
}
