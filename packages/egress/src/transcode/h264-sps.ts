/** The coded picture size from an H264 SPS (ITU-T H.264 §7.3.2.1.1, cropping per §7.4.2.1.1). */

/** Removes emulation prevention bytes (00 00 03 → 00 00). */
function toRbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out.push(byte);
  }
  return Buffer.from(out);
}

class BitReader {
  private bit = 0;
  private readonly data: Buffer;

  constructor(data: Buffer) {
    this.data = data;
  }

  u(bits: number): number {
    let value = 0;
    for (let i = 0; i < bits; i++) {
      const byte = this.data[this.bit >> 3];
      if (byte === undefined) throw new RangeError('SPS truncated');
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return value;
  }

  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new RangeError('bad Exp-Golomb code in SPS');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingLists(r: BitReader, count: number): void {
  for (let i = 0; i < count; i++) {
    if (r.u(1) === 0) continue;
    const size = i < 6 ? 16 : 64;
    let last = 8;
    let next = 8;
    for (let j = 0; j < size; j++) {
      if (next !== 0) next = (last + r.se() + 256) % 256;
      last = next === 0 ? last : next;
    }
  }
}

/** Reads chroma_format_idc (1 when the profile has no such field). */
function readChromaFormat(r: BitReader, profile: number): number {
  if (!HIGH_PROFILES.has(profile)) return 1;
  let chroma = r.ue();
  if (chroma === 3 && r.u(1) === 1) chroma = 0; // separate_colour_plane: crop like monochrome
  r.ue(); // bit_depth_luma_minus8
  r.ue(); // bit_depth_chroma_minus8
  r.u(1); // qpprime_y_zero_transform_bypass_flag
  if (r.u(1) === 1) skipScalingLists(r, chroma === 3 ? 12 : 8);
  return chroma;
}

function skipPicOrderCount(r: BitReader): void {
  const type = r.ue();
  if (type === 0) {
    r.ue();
  } else if (type === 1) {
    r.u(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
}

/** Width and height in pixels, after cropping. Throws RangeError on a truncated SPS. */
export function spsPictureSize(sps: Buffer): { width: number; height: number } {
  const r = new BitReader(toRbsp(sps.subarray(1)));
  const profile = r.u(8);
  r.u(16); // constraint flags, level_idc
  r.ue(); // seq_parameter_set_id
  const chroma = readChromaFormat(r, profile);
  r.ue(); // log2_max_frame_num_minus4
  skipPicOrderCount(r);
  r.ue(); // max_num_ref_frames
  r.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (frameMbsOnly === 0) r.u(1); // mb_adaptive_frame_field_flag
  r.u(1); // direct_8x8_inference_flag
  const crop = r.u(1) === 1 ? [r.ue(), r.ue(), r.ue(), r.ue()] : [0, 0, 0, 0];
  const cropX = chroma === 1 || chroma === 2 ? 2 : 1;
  const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const [left = 0, right = 0, top = 0, bottom = 0] = crop;
  return {
    width: widthMbs * 16 - cropX * (left + right),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (top + bottom),
  };
}
