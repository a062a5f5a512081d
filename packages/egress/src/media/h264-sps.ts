import { BitReader, BitstreamError } from './bit-reader.ts';

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The RBSP of a NAL unit: emulation prevention bytes (00 00 03) removed (H.264 §7.4.1). */
export function nalToRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** chroma_format_idc, after the high profiles' fields (scaling lists skipped). */
function readChroma(r: BitReader, profile: number): number {
  if (!HIGH_PROFILES.has(profile)) return 1;
  const chromaFormat = r.ue();
  if (chromaFormat === 3) r.skip(1);
  r.ue(); // bit_depth_luma_minus8
  r.ue(); // bit_depth_chroma_minus8
  r.skip(1); // qpprime_y_zero_transform_bypass_flag
  if (r.bit()) {
    for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
  }
  return chromaFormat;
}

function skipPicOrderCount(r: BitReader): void {
  const type = r.ue();
  if (type === 0) r.ue();
  else if (type === 1) {
    r.skip(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
}

/**
 * Width and height in pixels from an SPS NAL unit (with its header byte): macroblocks, interlace
 * and frame cropping (H.264 §7.4.2.1.1). Undefined when it is truncated or malformed.
 */
export function parseH264SpsSize(nal: Uint8Array): { width: number; height: number } | undefined {
  try {
    const r = new BitReader(nalToRbsp(nal.subarray(1)));
    const profile = r.bits(8);
    r.skip(16); // constraint flags, level_idc
    r.ue(); // seq_parameter_set_id
    const chromaFormat = readChroma(r, profile);
    r.ue(); // log2_max_frame_num_minus4
    skipPicOrderCount(r);
    r.ue(); // max_num_ref_frames
    r.skip(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.skip(1);
    r.skip(1); // direct_8x8_inference_flag
    const crop = r.bit() ? [r.ue(), r.ue(), r.ue(), r.ue()] : [0, 0, 0, 0];
    const cropUnitX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
    const cropUnitY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropUnitX * (crop[0]! + crop[1]!);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop[2]! + crop[3]!);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch (err) {
    if (err instanceof BitstreamError) return undefined;
    throw err;
  }
}
