/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §3.1): RTPFB FMT 15 with a base sequence number, packet status chunks (run length, or status
 * vectors of 1- or 2-bit symbols) and receive deltas in 250 µs ticks.
 */
import {
  contentEnd,
  fits,
  RTCP_FEEDBACK_HEADER_BYTES,
  type RtcpHeaderView,
  RtcpType,
  RtpfbFmt,
  writeFeedbackHeader,
} from './rtcp-common.ts';

/** Packet status symbols (§3.1.1). */
export const TwccStatus = { NotReceived: 0, SmallDelta: 1, LargeDelta: 2 } as const;

export const TWCC_DELTA_TICK_US = 250;
export const TWCC_REFERENCE_TICK_US = 64_000;
const FIXED_BYTES = RTCP_FEEDBACK_HEADER_BYTES + 8;
const RUN_MAX = 0x1fff;
const ONE_BIT_SYMBOLS = 14;
const TWO_BIT_SYMBOLS = 7;
/**
 * Packets one feedback may report when read: the send-side history's size. A run-length chunk
 * covers 8191 packets in 2 bytes, so without a cap 40 bytes claiming 65535 packets would cost
 * ~850 KB of statuses, deltas and receive times per packet.
 */
export const TWCC_MAX_READ_STATUS_COUNT = 8192;

export interface TwccFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  packetStatusCount: number;
  /** Reference time in 64 ms ticks: 24 bits, read unsigned (as libwebrtc) and wrapping. */
  referenceTime: number;
  feedbackPacketCount: number;
  /** Per packet from baseSeq: a TwccStatus symbol. */
  statuses: Uint8Array;
  /** Per packet: receive delta from the previous received packet (or the reference time), µs; 0 when lost. */
  deltasUs: Int32Array;
}

/** Decodes one chunk into `statuses` from `at`; returns the new fill count, or -1 for a reserved symbol. */
function decodeChunk(chunk: number, statuses: Uint8Array, at: number): number {
  const total = statuses.length;
  if ((chunk & 0x8000) === 0) {
    const symbol = (chunk >> 13) & 0x03;
    if (symbol === 3) return -1;
    const end = Math.min(total, at + (chunk & RUN_MAX));
    statuses.fill(symbol, at, end);
    return end;
  }
  const twoBit = (chunk & 0x4000) !== 0;
  const symbols = twoBit ? TWO_BIT_SYMBOLS : ONE_BIT_SYMBOLS;
  for (let i = 0; i < symbols && at < total; i++) {
    const symbol = twoBit ? (chunk >> (12 - 2 * i)) & 0x03 : (chunk >> (13 - i)) & 0x01;
    if (symbol === 3) return -1;
    statuses[at++] = symbol;
  }
  return at;
}

/**
 * Parses a TWCC feedback; undefined when it is not one, is malformed (chunks or deltas truncated)
 * or reports more than TWCC_MAX_READ_STATUS_COUNT packets.
 */
export function parseTwcc(buf: Buffer, p: RtcpHeaderView): TwccFeedback | undefined {
  const end = contentEnd(buf, p);
  const o = p.offset;
  if (p.type !== RtcpType.RTPFB || p.count !== RtpfbFmt.TWCC || o + FIXED_BYTES > end) return undefined;
  const count = buf.readUInt16BE(o + 14);
  if (count === 0 || count > TWCC_MAX_READ_STATUS_COUNT) return undefined;
  const statuses = new Uint8Array(count);
  let at = o + FIXED_BYTES;
  for (let filled = 0; filled < count; at += 2) {
    if (at + 2 > end) return undefined;
    filled = decodeChunk(buf.readUInt16BE(at), statuses, filled);
    if (filled < 0) return undefined;
  }
  const deltasUs = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const symbol = statuses[i]!;
    if (symbol === TwccStatus.NotReceived) continue;
    const size = symbol === TwccStatus.SmallDelta ? 1 : 2;
    if (at + size > end) return undefined;
    deltasUs[i] = (size === 1 ? buf[at]! : buf.readInt16BE(at)) * TWCC_DELTA_TICK_US;
    at += size;
  }
  return {
    senderSsrc: buf.readUInt32BE(o + 4),
    mediaSsrc: buf.readUInt32BE(o + 8),
    baseSeq: buf.readUInt16BE(o + 12),
    packetStatusCount: count,
    referenceTime: buf.readUIntBE(o + 16, 3),
    feedbackPacketCount: buf[o + 19]!,
    statuses,
    deltasUs,
  };
}

/** Receive times in µs (referenceTime · 64 ms + running deltas); NaN for lost packets. */
export function twccReceiveTimesUs(fb: TwccFeedback): Float64Array {
  const out = new Float64Array(fb.packetStatusCount);
  let t = fb.referenceTime * TWCC_REFERENCE_TICK_US;
  for (let i = 0; i < out.length; i++) {
    if (fb.statuses[i] === TwccStatus.NotReceived) out[i] = Number.NaN;
    else out[i] = t += fb.deltasUs[i]!;
  }
  return out;
}

export interface TwccBuildInput {
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  feedbackPacketCount: number;
  /** Per packet from baseSeq: receive time in µs on the receiver's clock, or undefined when lost. */
  arrivalsUs: ReadonlyArray<number | undefined>;
}

/**
 * The statuses and delta ticks of `arrivalsUs`, the reference time taken from the first arrival
 * (rounded down to 64 ms); undefined when nothing arrived or a delta exceeds 16 bits of ticks.
 */
function encodeArrivals(
  arrivalsUs: ReadonlyArray<number | undefined>,
): { referenceTime: number; statuses: Uint8Array; ticks: Int32Array } | undefined {
  const first = arrivalsUs.find((t) => t !== undefined);
  if (first === undefined) return undefined;
  const referenceTime = Math.floor(first / TWCC_REFERENCE_TICK_US);
  const statuses = new Uint8Array(arrivalsUs.length);
  const ticks = new Int32Array(arrivalsUs.length);
  // Deltas run from the quantised previous time so that rounding errors do not accumulate.
  let previousUs = referenceTime * TWCC_REFERENCE_TICK_US;
  for (let i = 0; i < arrivalsUs.length; i++) {
    const t = arrivalsUs[i];
    if (t === undefined) continue;
    const d = Math.round((t - previousUs) / TWCC_DELTA_TICK_US);
    if (d < -0x8000 || d > 0x7fff) return undefined;
    statuses[i] = d >= 0 && d <= 0xff ? TwccStatus.SmallDelta : TwccStatus.LargeDelta;
    ticks[i] = d;
    previousUs += d * TWCC_DELTA_TICK_US;
  }
  return { referenceTime: referenceTime & 0xffffff, statuses, ticks };
}

/** Greedy chunking: a run when at least 7 equal symbols follow, else the densest status vector. */
function encodeChunks(statuses: Uint8Array): number[] {
  const chunks: number[] = [];
  for (let i = 0; i < statuses.length; ) {
    let run = 1;
    while (i + run < statuses.length && run < RUN_MAX && statuses[i + run] === statuses[i]) run++;
    if (run >= TWO_BIT_SYMBOLS) {
      chunks.push((statuses[i]! << 13) | run);
      i += run;
      continue;
    }
    const oneBit = statuses.subarray(i, i + ONE_BIT_SYMBOLS).every((s) => s !== TwccStatus.LargeDelta);
    let chunk = oneBit ? 0x8000 : 0xc000;
    const n = oneBit ? ONE_BIT_SYMBOLS : TWO_BIT_SYMBOLS;
    for (let k = 0; k < n && i + k < statuses.length; k++)
      chunk |= oneBit ? statuses[i + k]! << (13 - k) : statuses[i + k]! << (12 - 2 * k);
    chunks.push(chunk);
    i += n;
  }
  return chunks;
}

/**
 * Writes a TWCC feedback for `input` (padded to 32 bits with the P bit, as libwebrtc does);
 * returns its bytes, or -1 when it does not fit, nothing arrived, or there are over 65535 packets.
 */
export function writeTwcc(out: Buffer, offset: number, input: TwccBuildInput): number {
  if (input.arrivalsUs.length === 0 || input.arrivalsUs.length > 0xffff) return -1;
  const encoded = encodeArrivals(input.arrivalsUs);
  if (!encoded) return -1;
  const chunks = encodeChunks(encoded.statuses);
  let deltaBytes = 0;
  for (const s of encoded.statuses) deltaBytes += s;
  const unpadded = FIXED_BYTES + chunks.length * 2 + deltaBytes;
  const bytes = (unpadded + 3) & ~3;
  if (!fits(out, offset, bytes)) return -1;
  const o = offset;
  writeFeedbackHeader(out, o, RtcpType.RTPFB, RtpfbFmt.TWCC, bytes, input.senderSsrc, input.mediaSsrc);
  out.writeUInt16BE(input.baseSeq & 0xffff, o + 12);
  out.writeUInt16BE(input.arrivalsUs.length, o + 14);
  out.writeUIntBE(encoded.referenceTime, o + 16, 3);
  out[o + 19] = input.feedbackPacketCount & 0xff;
  let at = o + FIXED_BYTES;
  for (const chunk of chunks) {
    out.writeUInt16BE(chunk, at);
    at += 2;
  }
  for (let i = 0; i < encoded.statuses.length; i++) {
    const s = encoded.statuses[i]!;
    if (s === TwccStatus.SmallDelta) out[at++] = encoded.ticks[i]!;
    else if (s === TwccStatus.LargeDelta) {
      out.writeInt16BE(encoded.ticks[i]!, at);
      at += 2;
    }
  }
  const padding = bytes - unpadded;
  if (padding > 0) {
    out.fill(0, at, o + bytes);
    out[o + bytes - 1] = padding;
    out[o] = out[o]! | 0x20;
  }
  return bytes;
}
