/**
 * RTCP reports (RFC 3550 §6.4–6.6): SR and RR with report blocks, SDES CNAME, BYE. Parsers take a
 * packet located by RtcpIterator / forEachRtcp and return undefined when it is malformed; writers
 * fill a caller's buffer and return the bytes written, or -1 when it does not fit.
 */
import { contentEnd, fits, type RtcpHeaderView, RtcpType, writeRtcpHeader } from './rtcp-common.ts';

const SENDER_INFO_BYTES = 20;
const REPORT_BLOCK_BYTES = 24;
const MAX_REPORT_BLOCKS = 31;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const SDES_CNAME = 1;

/** RFC 3550 §6.4.1 report block. */
export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the last report, in 1/256. */
  fractionLost: number;
  /** Cumulative packets lost (signed 24 bits). */
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR (LSR). */
  lastSr: number;
  /** Delay since the last SR in 1/65536 s (DLSR). */
  delaySinceLastSr: number;
}

export interface SenderReport {
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  ssrc: number;
  reports: ReportBlock[];
}

/** NTP time (RFC 5905 §6 64-bit timestamp) of a Unix time in ms. */
export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const wholeS = Math.floor(ms / 1000);
  return {
    seconds: (wholeS + NTP_UNIX_OFFSET_S) >>> 0,
    fraction: Math.floor(((ms - wholeS * 1000) / 1000) * 2 ** 32) >>> 0,
  };
}

/** Unix time in ms of an NTP timestamp (era 0, i.e. until 2036). */
export function ntpToUnixMs(seconds: number, fraction: number): number {
  return (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000;
}

/** The middle 32 bits of an NTP timestamp, as LSR carries it (RFC 3550 §6.4.1). */
export function compactNtp(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

function readBlocks(buf: Buffer, at: number, count: number, end: number): ReportBlock[] | undefined {
  if (at + count * REPORT_BLOCK_BYTES > end) return undefined;
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i++, at += REPORT_BLOCK_BYTES) {
    blocks.push({
      ssrc: buf.readUInt32BE(at),
      fractionLost: buf[at + 4]!,
      cumulativeLost: buf.readIntBE(at + 5, 3),
      highestSeq: buf.readUInt32BE(at + 8),
      jitter: buf.readUInt32BE(at + 12),
      lastSr: buf.readUInt32BE(at + 16),
      delaySinceLastSr: buf.readUInt32BE(at + 20),
    });
  }
  return blocks;
}

function writeBlocks(out: Buffer, at: number, blocks: readonly ReportBlock[]): void {
  for (const b of blocks) {
    out.writeUInt32BE(b.ssrc >>> 0, at);
    out[at + 4] = b.fractionLost & 0xff;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(b.cumulativeLost)));
    out.writeIntBE(lost, at + 5, 3);
    out.writeUInt32BE(b.highestSeq >>> 0, at + 8);
    out.writeUInt32BE(b.jitter >>> 0, at + 12);
    out.writeUInt32BE(b.lastSr >>> 0, at + 16);
    out.writeUInt32BE(b.delaySinceLastSr >>> 0, at + 20);
    at += REPORT_BLOCK_BYTES;
  }
}

/** RFC 3550 §6.4.1: sender info and report blocks (profile extensions after them are ignored). */
export function parseSenderReport(buf: Buffer, p: RtcpHeaderView): SenderReport | undefined {
  const end = contentEnd(buf, p);
  if (p.type !== RtcpType.SR || end < p.offset + 8 + SENDER_INFO_BYTES) return undefined;
  const at = p.offset + 8;
  const reports = readBlocks(buf, at + SENDER_INFO_BYTES, p.count, end);
  if (!reports) return undefined;
  return {
    ssrc: buf.readUInt32BE(p.offset + 4),
    ntpSeconds: buf.readUInt32BE(at),
    ntpFraction: buf.readUInt32BE(at + 4),
    rtpTimestamp: buf.readUInt32BE(at + 8),
    packetCount: buf.readUInt32BE(at + 12),
    octetCount: buf.readUInt32BE(at + 16),
    reports,
  };
}

/** RFC 3550 §6.4.2. */
export function parseReceiverReport(buf: Buffer, p: RtcpHeaderView): ReceiverReport | undefined {
  const end = contentEnd(buf, p);
  if (p.type !== RtcpType.RR || end < p.offset + 8) return undefined;
  const reports = readBlocks(buf, p.offset + 8, p.count, end);
  return reports && { ssrc: buf.readUInt32BE(p.offset + 4), reports };
}

export function senderReportBytes(blocks: number): number {
  return 8 + SENDER_INFO_BYTES + blocks * REPORT_BLOCK_BYTES;
}

export function writeSenderReport(out: Buffer, offset: number, sr: SenderReport): number {
  const bytes = senderReportBytes(sr.reports.length);
  if (sr.reports.length > MAX_REPORT_BLOCKS || !fits(out, offset, bytes)) return -1;
  writeRtcpHeader(out, offset, sr.reports.length, RtcpType.SR, bytes);
  out.writeUInt32BE(sr.ssrc >>> 0, offset + 4);
  out.writeUInt32BE(sr.ntpSeconds >>> 0, offset + 8);
  out.writeUInt32BE(sr.ntpFraction >>> 0, offset + 12);
  out.writeUInt32BE(sr.rtpTimestamp >>> 0, offset + 16);
  out.writeUInt32BE(sr.packetCount >>> 0, offset + 20);
  out.writeUInt32BE(sr.octetCount >>> 0, offset + 24);
  writeBlocks(out, offset + 28, sr.reports);
  return bytes;
}

export function writeReceiverReport(out: Buffer, offset: number, rr: ReceiverReport): number {
  const bytes = 8 + rr.reports.length * REPORT_BLOCK_BYTES;
  if (rr.reports.length > MAX_REPORT_BLOCKS || !fits(out, offset, bytes)) return -1;
  writeRtcpHeader(out, offset, rr.reports.length, RtcpType.RR, bytes);
  out.writeUInt32BE(rr.ssrc >>> 0, offset + 4);
  writeBlocks(out, offset + 8, rr.reports);
  return bytes;
}

/** Sender report without report blocks, for A/V sync at the subscriber (allocates). */
export function buildSenderReport(
  ssrc: number,
  ntpMs: number,
  rtpTimestamp: number,
  packets: number,
  octets: number,
): Buffer {
  const { seconds, fraction } = ntpFromUnixMs(ntpMs);
  const out = Buffer.alloc(senderReportBytes(0));
  writeSenderReport(out, 0, {
    ssrc,
    ntpSeconds: seconds,
    ntpFraction: fraction,
    rtpTimestamp,
    packetCount: packets,
    octetCount: octets,
    reports: [],
  });
  return out;
}

/** Receiver report with no blocks: keeps the RTCP session alive when we only receive. */
export function buildEmptyReceiverReport(ssrc: number): Buffer {
  const out = Buffer.alloc(8);
  writeReceiverReport(out, 0, { ssrc, reports: [] });
  return out;
}

/** SDES chunks' SSRC and CNAME (RFC 3550 §6.5); other items are skipped. */
export function parseSdes(
  buf: Buffer,
  p: RtcpHeaderView,
): Array<{ ssrc: number; cname?: string }> | undefined {
  const end = contentEnd(buf, p);
  if (p.type !== RtcpType.SDES) return undefined;
  const chunks: Array<{ ssrc: number; cname?: string }> = [];
  let at = p.offset + 4;
  for (let c = 0; c < p.count; c++) {
    if (at + 4 > end) return undefined;
    const chunk: { ssrc: number; cname?: string } = { ssrc: buf.readUInt32BE(at) };
    at += 4;
    // Items until a null octet; the chunk then pads to a 32-bit boundary (§6.5). A last chunk that
    // ends with the packet, unterminated (werift sends those), is accepted.
    for (;;) {
      if (at >= end) {
        if (c === p.count - 1 && at === end) break;
        return undefined;
      }
      const type = buf[at]!;
      if (type === 0) break;
      if (at + 2 > end || at + 2 + buf[at + 1]! > end) return undefined;
      const length = buf[at + 1]!;
      if (type === SDES_CNAME) chunk.cname = buf.toString('utf8', at + 2, at + 2 + length);
      at += 2 + length;
    }
    at = p.offset + ((at - p.offset + 4) & ~3);
    chunks.push(chunk);
  }
  return chunks;
}

/** One SDES chunk with a CNAME (RFC 3550 §6.5.1); -1 when it does not fit or the CNAME is over 255 bytes. */
export function writeSdesCname(out: Buffer, offset: number, ssrc: number, cname: string): number {
  const length = Buffer.byteLength(cname, 'utf8');
  // Header, SSRC, item header, text, then at least one null octet up to a 32-bit boundary.
  const bytes = (4 + 4 + 2 + length + 4) & ~3;
  if (length > 255 || !fits(out, offset, bytes)) return -1;
  writeRtcpHeader(out, offset, 1, RtcpType.SDES, bytes);
  out.writeUInt32BE(ssrc >>> 0, offset + 4);
  out[offset + 8] = SDES_CNAME;
  out[offset + 9] = length;
  out.write(cname, offset + 10, length, 'utf8');
  out.fill(0, offset + 10 + length, offset + bytes);
  return bytes;
}

/** RFC 3550 §6.6: the SSRCs leaving and the optional reason. */
export function parseBye(buf: Buffer, p: RtcpHeaderView): { ssrcs: number[]; reason?: string } | undefined {
  const end = contentEnd(buf, p);
  if (p.type !== RtcpType.BYE || p.offset + 4 + p.count * 4 > end) return undefined;
  const ssrcs: number[] = [];
  let at = p.offset + 4;
  for (let i = 0; i < p.count; i++, at += 4) ssrcs.push(buf.readUInt32BE(at));
  if (at >= end) return { ssrcs };
  const length = buf[at]!;
  if (at + 1 + length > end) return undefined;
  return { ssrcs, reason: buf.toString('utf8', at + 1, at + 1 + length) };
}

export function writeBye(out: Buffer, offset: number, ssrcs: readonly number[], reason?: string): number {
  const reasonBytes = reason === undefined ? -1 : Buffer.byteLength(reason, 'utf8');
  const bytes = 4 + ssrcs.length * 4 + (reasonBytes < 0 ? 0 : (1 + reasonBytes + 3) & ~3);
  if (ssrcs.length > MAX_REPORT_BLOCKS || reasonBytes > 255 || !fits(out, offset, bytes)) return -1;
  writeRtcpHeader(out, offset, ssrcs.length, RtcpType.BYE, bytes);
  let at = offset + 4;
  for (const ssrc of ssrcs) {
    out.writeUInt32BE(ssrc >>> 0, at);
    at += 4;
  }
  if (reason !== undefined) {
    out[at] = reasonBytes;
    out.write(reason, at + 1, reasonBytes, 'utf8');
    out.fill(0, at + 1 + reasonBytes, offset + bytes);
  }
  return bytes;
}
