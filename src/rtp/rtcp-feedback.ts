/**
 * RTCP feedback (RFC 4585 §6): generic NACK, PLI, FIR (RFC 5104 §4.3.1) and REMB
 * (draft-alvestrand-rmcat-remb §2.2). Parsers take a packet located by RtcpIterator / forEachRtcp;
 * writers fill a caller's buffer and return the bytes written, or -1 when it does not fit.
 */
import {
  contentEnd,
  fits,
  PsfbFmt,
  RTCP_FEEDBACK_HEADER_BYTES,
  type RtcpHeaderView,
  RtcpType,
  RtpfbFmt,
  writeFeedbackHeader,
} from './rtcp-common.ts';
import { seqDiff } from './seq.ts';

const NACK_FCI_BYTES = 4;
const FIR_FCI_BYTES = 8;
const REMB_FIXED_BYTES = 20;
const REMB_MAX_MANTISSA = 0x3ffff;
const REMB_MAX_SSRCS = 255;

/** Sequence numbers a generic NACK asks for (RFC 4585 §6.2.1: PID + 16-bit BLP per FCI). */
export function nackSequenceNumbers(buf: Buffer, p: RtcpHeaderView): number[] {
  const out: number[] = [];
  const end = contentEnd(buf, p);
  for (let at = p.offset + RTCP_FEEDBACK_HEADER_BYTES; at + NACK_FCI_BYTES <= end; at += NACK_FCI_BYTES) {
    const pid = buf.readUInt16BE(at);
    const blp = buf.readUInt16BE(at + 2);
    out.push(pid);
    for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) out.push((pid + bit + 1) & 0xffff);
  }
  return out;
}

/** The NACK FCI entries (PID, BLP) covering `seqs`: sorted wrap-aware, duplicates dropped. */
export function nackItems(seqs: readonly number[]): Array<[pid: number, blp: number]> {
  const sorted = seqs.map((s) => s & 0xffff).sort((a, b) => seqDiff(a, b));
  const items: Array<[number, number]> = [];
  for (const seq of sorted) {
    const last = items[items.length - 1];
    const d = last ? seqDiff(seq, last[0]) : -1;
    if (last && d === 0) continue;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else items.push([seq, 0]);
  }
  return items;
}

export function nackBytes(seqs: readonly number[]): number {
  return RTCP_FEEDBACK_HEADER_BYTES + nackItems(seqs).length * NACK_FCI_BYTES;
}

/** Generic NACK (RFC 4585 §6.2.1) asking `mediaSsrc` for `seqs`. */
export function writeNack(
  out: Buffer,
  offset: number,
  senderSsrc: number,
  mediaSsrc: number,
  seqs: readonly number[],
): number {
  const items = nackItems(seqs);
  const bytes = RTCP_FEEDBACK_HEADER_BYTES + items.length * NACK_FCI_BYTES;
  if (items.length === 0 || !fits(out, offset, bytes)) return -1;
  writeFeedbackHeader(out, offset, RtcpType.RTPFB, RtpfbFmt.NACK, bytes, senderSsrc, mediaSsrc);
  let at = offset + RTCP_FEEDBACK_HEADER_BYTES;
  for (const [pid, blp] of items) {
    out.writeUInt16BE(pid, at);
    out.writeUInt16BE(blp, at + 2);
    at += NACK_FCI_BYTES;
  }
  return bytes;
}

/** PLI for `mediaSsrc` (RFC 4585 §6.3.1): 12 bytes. */
export function writePli(out: Buffer, offset: number, senderSsrc: number, mediaSsrc: number): number {
  if (!fits(out, offset, RTCP_FEEDBACK_HEADER_BYTES)) return -1;
  writeFeedbackHeader(
    out,
    offset,
    RtcpType.PSFB,
    PsfbFmt.PLI,
    RTCP_FEEDBACK_HEADER_BYTES,
    senderSsrc,
    mediaSsrc,
  );
  return RTCP_FEEDBACK_HEADER_BYTES;
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const out = Buffer.alloc(RTCP_FEEDBACK_HEADER_BYTES);
  writePli(out, 0, senderSsrc, mediaSsrc);
  return out;
}

export interface FirEntry {
  ssrc: number;
  /** Command sequence number, incremented by the sender per new request (RFC 5104 §4.3.1.1). */
  seqNr: number;
}

/** FCI entries of a FIR (RFC 5104 §4.3.1.1). */
export function parseFir(buf: Buffer, p: RtcpHeaderView): FirEntry[] {
  const out: FirEntry[] = [];
  const end = contentEnd(buf, p);
  for (let at = p.offset + RTCP_FEEDBACK_HEADER_BYTES; at + FIR_FCI_BYTES <= end; at += FIR_FCI_BYTES)
    out.push({ ssrc: buf.readUInt32BE(at), seqNr: buf[at + 4]! });
  return out;
}

/** SSRCs named in the FCI entries of a FIR. */
export function firSsrcs(buf: Buffer, p: RtcpHeaderView): number[] {
  return parseFir(buf, p).map((e) => e.ssrc);
}

/** FIR (RFC 5104 §4.3.1.2): the media source SSRC field is 0, the targets are in the FCI. */
export function writeFir(
  out: Buffer,
  offset: number,
  senderSsrc: number,
  entries: readonly FirEntry[],
): number {
  const bytes = RTCP_FEEDBACK_HEADER_BYTES + entries.length * FIR_FCI_BYTES;
  if (entries.length === 0 || !fits(out, offset, bytes)) return -1;
  writeFeedbackHeader(out, offset, RtcpType.PSFB, PsfbFmt.FIR, bytes, senderSsrc, 0);
  let at = offset + RTCP_FEEDBACK_HEADER_BYTES;
  for (const e of entries) {
    out.writeUInt32BE(e.ssrc >>> 0, at);
    out.writeUInt32BE(((e.seqNr & 0xff) << 24) >>> 0, at + 4);
    at += FIR_FCI_BYTES;
  }
  return bytes;
}

export interface Remb {
  bitrateBps: number;
  ssrcs: number[];
}

/** REMB (PSFB FMT 15, 'REMB' identifier): bitrate = mantissa · 2^exp, then the SSRCs it applies to. */
export function parseRemb(buf: Buffer, p: RtcpHeaderView): Remb | undefined {
  const end = contentEnd(buf, p);
  const at = p.offset + RTCP_FEEDBACK_HEADER_BYTES;
  if (p.type !== RtcpType.PSFB || p.count !== PsfbFmt.REMB || at + 8 > end) return undefined;
  if (buf.toString('latin1', at, at + 4) !== 'REMB') return undefined;
  const count = buf[at + 4]!;
  if (at + 8 + count * 4 > end) return undefined;
  const exp = buf[at + 5]! >> 2;
  const mantissa = ((buf[at + 5]! & 0x03) << 16) | buf.readUInt16BE(at + 6);
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(buf.readUInt32BE(at + 8 + 4 * i));
  return { bitrateBps: mantissa * 2 ** exp, ssrcs };
}

/** Bitrate of a REMB message in bits per second, or undefined when it is not a valid REMB. */
export function rembBitrateBps(buf: Buffer, p: RtcpHeaderView): number | undefined {
  return parseRemb(buf, p)?.bitrateBps;
}

export function writeRemb(
  out: Buffer,
  offset: number,
  senderSsrc: number,
  bitrateBps: number,
  ssrcs: readonly number[],
): number {
  const bytes = REMB_FIXED_BYTES + 4 * ssrcs.length;
  if (ssrcs.length > REMB_MAX_SSRCS || !fits(out, offset, bytes)) return -1;
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrateBps));
  while (mantissa > REMB_MAX_MANTISSA && exp < 63) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  mantissa = Math.min(mantissa, REMB_MAX_MANTISSA);
  // The media source SSRC of a REMB is 0 (draft-alvestrand-rmcat-remb §2.2).
  writeFeedbackHeader(out, offset, RtcpType.PSFB, PsfbFmt.REMB, bytes, senderSsrc, 0);
  out.write('REMB', offset + 12, 'latin1');
  out[offset + 16] = ssrcs.length;
  out[offset + 17] = (exp << 2) | (mantissa >> 16);
  out.writeUInt16BE(mantissa & 0xffff, offset + 18);
  for (const [i, s] of ssrcs.entries()) out.writeUInt32BE(s >>> 0, offset + 20 + 4 * i);
  return bytes;
}

/** REMB for the given SSRCs (allocates). */
export function buildRemb(senderSsrc: number, bitrateBps: number, ssrcs: readonly number[]): Buffer {
  const out = Buffer.alloc(REMB_FIXED_BYTES + 4 * ssrcs.length);
  writeRemb(out, 0, senderSsrc, bitrateBps, ssrcs);
  return out;
}
