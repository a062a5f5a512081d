import { BitReader } from '../media/bit-reader.ts';
import type { VideoConfig } from '../media/frame.ts';

/**
 * H264 codec setup for the muxers: the SPS/PPS of an AVCC access unit, the SPS fields an avcC box
 * and an HLS CODECS string need (ITU-T H.264 7.3.2.1.1), and the coded size when the frame does
 * not carry it.
 */

const NAL_SPS = 7;
const NAL_PPS = 8;

export interface H264SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  width: number;
  height: number;
}

/** The NAL units of an AVCC access unit (4-byte lengths), without their prefixes. */
export function avccNalUnits(data: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= data.length) {
    const size = data.readUInt32BE(pos);
    pos += 4;
    // Why: a truncated length would read past the frame; keep what was whole.
    if (size === 0 || pos + size > data.length) break;
    units.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return units;
}

/** The VideoConfig of an H264 keyframe that carries its SPS and PPS in-band, or null. */
export function h264ConfigOf(data: Buffer, size: { width: number; height: number }): VideoConfig | null {
  const units = avccNalUnits(data);
  const sps = units.filter((u) => (u[0]! & 0x1f) === NAL_SPS);
  const pps = units.filter((u) => (u[0]! & 0x1f) === NAL_PPS);
  if (sps.length === 0 || pps.length === 0) return null;
  const info = parseSps(sps[0]!);
  const width = size.width > 0 ? size.width : info.width;
  const height = size.height > 0 ? size.height : info.height;
  return {
    codec: 'h264',
    width,
    height,
    sps: sps.map((u) => Buffer.from(u)),
    pps: pps.map((u) => Buffer.from(u)),
  };
}

/** RFC 6381 3.3 `avc1.PPCCLL`: profile_idc, constraint flags and level_idc in hex. */
export function h264CodecString(sps: Buffer): string {
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return `avc1.${hex(sps[1] ?? 0)}${hex(sps[2] ?? 0)}${hex(sps[3] ?? 0)}`;
}

/**
 * Parses an SPS NAL unit (header byte included) far enough for the coded size. A truncated or
 * overlong field throws BitstreamError.
 */
export function parseSps(nal: Buffer): H264SpsInfo {
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  const chromaFormatIdc = HIGH_PROFILES.has(profileIdc) ? readChromaSetup(r) : 1;
  r.ue(); // log2_max_frame_num_minus4
  skipPicOrderCount(r);
  r.ue(); // max_num_ref_frames
  r.bits(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bits(1);
  if (!frameMbsOnly) r.bits(1); // mb_adaptive_frame_field_flag
  r.bits(1); // direct_8x8_inference_flag
  const crop = r.bits(1) ? [r.ue(), r.ue(), r.ue(), r.ue()] : [0, 0, 0, 0];
  // Table 6-1: crop units are chroma samples (4:2:0 halves both directions, 4:2:2 only width).
  const cropX = chromaFormatIdc === 0 || chromaFormatIdc === 3 ? 1 : 2;
  const cropY = (chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropX * (crop[0]! + crop[1]!);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop[2]! + crop[3]!);
  return { profileIdc, constraintFlags, levelIdc, width, height };
}

/** Profiles whose SPS carries chroma_format_idc and the scaling matrices (7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function readChromaSetup(r: BitReader): number {
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc === 3) r.bits(1); // separate_colour_plane_flag
  r.ue(); // bit_depth_luma_minus8
  r.ue(); // bit_depth_chroma_minus8
  r.bits(1); // qpprime_y_zero_transform_bypass_flag
  if (r.bits(1)) {
    const lists = chromaFormatIdc === 3 ? 12 : 8;
    for (let i = 0; i < lists; i++) if (r.bits(1)) skipScalingList(r, i < 6 ? 16 : 64);
  }
  return chromaFormatIdc;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function skipPicOrderCount(r: BitReader): void {
  const type = r.ue();
  if (type === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (type === 1) {
    r.bits(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
}

/** Removes emulation prevention bytes (00 00 03 → 00 00). */
function unescapeRbsp(data: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  let n = 0;
  let zeros = 0;
  for (const byte of data) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}
