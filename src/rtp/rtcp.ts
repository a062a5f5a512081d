/**
 * RTCP compound packets (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb):
 * bounds-checked iteration and the few builders an SFU needs. Parsers return undefined for
 * malformed input and never read past the buffer.
 */

export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, RTPFB: 205, PSFB: 206 } as const;
export const RtpfbFmt = { NACK: 1, TWCC: 15 } as const;
export const PsfbFmt = { PLI: 1, FIR: 4, REMB: 15 } as const;

export interface RtcpHeaderView {
  type: number;
  /** Report count or feedback message type. */
  count: number;
  offset: number;
  /** Bytes of this packet including its header. */
  bytes: number;
}

/** Calls `visit` for each packet of a compound; false when the compound is malformed. */
export function forEachRtcp(buf: Buffer, visit: (p: RtcpHeaderView) => void): boolean {
  let offset = 0;
  while (offset + 4 <= buf.length) {
    if (buf[offset]! >> 6 !== 2) return false;
    const bytes = (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + bytes > buf.length) return false;
    visit({ type: buf[offset + 1]!, count: buf[offset]! & 0x1f, offset, bytes });
    offset += bytes;
  }
  return offset === buf.length;
}

/** Media source SSRC of a feedback message (RTPFB/PSFB), or undefined when too short. */
export function feedbackMediaSsrc(buf: Buffer, p: RtcpHeaderView): number | undefined {
  return p.bytes >= 12 ? buf.readUInt32BE(p.offset + 8) : undefined;
}

/** Sequence numbers a generic NACK asks for (RFC 4585 §6.2.1: PID + 16-bit BLP per FCI). */
export function nackSequenceNumbers(buf: Buffer, p: RtcpHeaderView): number[] {
  const out: number[] = [];
  for (let at = p.offset + 12; at + 4 <= p.offset + p.bytes; at += 4) {
    const pid = buf.readUInt16BE(at);
    const blp = buf.readUInt16BE(at + 2);
    out.push(pid);
    for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) out.push((pid + bit + 1) & 0xffff);
  }
  return out;
}

/** SSRCs named in the FCI entries of a FIR (RFC 5104 §4.3.1.1). */
export function firSsrcs(buf: Buffer, p: RtcpHeaderView): number[] {
  const out: number[] = [];
  for (let at = p.offset + 12; at + 8 <= p.offset + p.bytes; at += 8) out.push(buf.readUInt32BE(at));
  return out;
}

/** Bitrate of a REMB message in bits per second, or undefined when it is not a valid REMB. */
export function rembBitrateBps(buf: Buffer, p: RtcpHeaderView): number | undefined {
  if (p.bytes < 20 || buf.toString('latin1', p.offset + 12, p.offset + 16) !== 'REMB') return undefined;
  const exp = buf[p.offset + 17]! >> 2;
  const mantissa = ((buf[p.offset + 17]! & 0x03) << 16) | buf.readUInt16BE(p.offset + 18);
  return mantissa * 2 ** exp;
}

/** PLI for `mediaSsrc` (RFC 4585 §6.3.1): 12 bytes. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x80 | PsfbFmt.PLI;
  b[1] = RtcpType.PSFB;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  return b;
}

/** REMB (draft-alvestrand-rmcat-remb §2.2) for the given SSRCs. */
export function buildRemb(senderSsrc: number, bitrateBps: number, ssrcs: number[]): Buffer {
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrateBps));
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  const b = Buffer.alloc(20 + 4 * ssrcs.length);
  b[0] = 0x80 | PsfbFmt.REMB;
  b[1] = RtcpType.PSFB;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.write('REMB', 12, 'latin1');
  b[16] = ssrcs.length;
  b[17] = (exp << 2) | (mantissa >> 16);
  b.writeUInt16BE(mantissa & 0xffff, 18);
  for (const [i, s] of ssrcs.entries()) b.writeUInt32BE(s >>> 0, 20 + 4 * i);
  return b;
}

/** Sender report without report blocks (RFC 3550 §6.4.1), for A/V sync at the subscriber. */
export function buildSenderReport(
  ssrc: number,
  ntpMs: number,
  rtpTimestamp: number,
  packets: number,
  octets: number,
): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = RtcpType.SR;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  // NTP: seconds since 1900 and the fraction of a second.
  const seconds = Math.floor(ntpMs / 1000) + 2_208_988_800;
  b.writeUInt32BE(seconds >>> 0, 8);
  b.writeUInt32BE(Math.floor(((ntpMs % 1000) / 1000) * 2 ** 32) >>> 0, 12);
  b.writeUInt32BE(rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return b;
}

/** Receiver report with no blocks: keeps the RTCP session alive when we only receive. */
export function buildEmptyReceiverReport(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = RtcpType.RR;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}
