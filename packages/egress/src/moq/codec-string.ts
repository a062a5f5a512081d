import type { VideoFrame } from '../media/frame.ts';

/**
 * WebCodecs codec strings (https://w3c.github.io/webcodecs/codec_registry.html) for the hang
 * catalog, read from the first keyframe of a track, and the H264 reshaping the player needs.
 */

const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_IDR = 5;

/** Constrained baseline 3.1: what a WebRTC publisher sends when no SPS was seen. */
const H264_FALLBACK = 'avc1.42e01f';

export function videoCodecString(frame: VideoFrame): string {
  switch (frame.codec) {
    case 'vp8':
      return 'vp8';
    case 'h264':
      return h264CodecString(avccNalUnits(frame.data));
    case 'vp9':
      return vp9CodecString(frame.data, frame.width, frame.height);
    case 'av1':
      return av1CodecString(frame.data);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** `avc1.PPCCLL` from the SPS's profile_idc, constraint flags and level_idc. */
export function h264CodecString(nalUnits: Buffer[]): string {
  const sps = nalUnits.find((nal) => (nal[0]! & 0x1f) === NAL_SPS);
  if (!sps || sps.length < 4) return H264_FALLBACK;
  return `avc1.${hex2(sps[1]!)}${hex2(sps[2]!)}${hex2(sps[3]!)}`;
}

/** The NAL units of an AVCC access unit (4-byte big-endian lengths); stops at a truncated one. */
export function avccNalUnits(data: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const length = data.readUInt32BE(offset);
    offset += 4;
    if (length === 0 || offset + length > data.length) break;
    units.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return units;
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/**
 * H264 parameter sets seen so far, so that every keyframe the player gets carries them: the
 * catalog has no `description`, so WebCodecs takes Annex B with in-band SPS/PPS, and a late
 * viewer starts at a keyframe that must be decodable on its own.
 */
export class H264ParameterSets {
  #sps: Buffer | null = null;
  #pps: Buffer | null = null;

  /** AVCC → Annex B; a keyframe without in-band SPS/PPS gets the last ones seen. */
  toAnnexB(data: Buffer, keyframe: boolean): Buffer {
    const units = avccNalUnits(data);
    let hasSps = false;
    let hasPps = false;
    for (const nal of units) {
      const type = nal[0]! & 0x1f;
      if (type === NAL_SPS) [this.#sps, hasSps] = [Buffer.from(nal), true];
      if (type === NAL_PPS) [this.#pps, hasPps] = [Buffer.from(nal), true];
    }
    const prefix: Buffer[] = [];
    // Why: an IDR whose parameter sets came in an earlier packet is undecodable for a late viewer.
    const idr = keyframe && units.some((nal) => (nal[0]! & 0x1f) === NAL_IDR);
    if (idr && !hasSps && this.#sps) prefix.push(this.#sps);
    if (idr && !hasPps && this.#pps) prefix.push(this.#pps);
    return Buffer.concat([...prefix, ...units].flatMap((nal) => [START_CODE, nal]));
  }

  get sps(): Buffer | null {
    return this.#sps;
  }
}

/** `vp09.PP.LL.DD`: profile and bit depth from the uncompressed header, level from the size. */
export function vp9CodecString(data: Buffer, width: number, height: number): string {
  const first = data[0] ?? 0;
  // frame_marker (2 bits) then profile_low_bit, profile_high_bit.
  const profile = ((first >> 5) & 1) | (((first >> 4) & 1) << 1);
  let bitDepth = 8;
  if (profile >= 2) {
    // After the frame marker, profile (and a reserved bit for profile 3), show_existing_frame,
    // frame_type, show_frame, error_resilient_mode comes the 24-bit sync code, then ten_or_twelve_bit.
    const reserved = profile === 3 ? 1 : 0;
    const bitOffset = 2 + 2 + reserved + 1 + 1 + 1 + 1 + 24;
    const byte = data[bitOffset >> 3] ?? 0;
    bitDepth = (byte >> (7 - (bitOffset & 7))) & 1 ? 12 : 10;
  }
  return `vp09.${String(profile).padStart(2, '0')}.${vp9Level(width * height)}.${String(bitDepth).padStart(2, '0')}`;
}

/** The smallest VP9 level whose max picture size holds the frame (Annex A of the VP9 spec). */
function vp9Level(pixels: number): string {
  const levels: [number, string][] = [
    [36_864, '10'],
    [73_728, '11'],
    [122_880, '20'],
    [245_760, '21'],
    [552_960, '30'],
    [983_040, '31'],
    [2_228_224, '40'],
    [8_912_896, '50'],
  ];
  return levels.find(([max]) => pixels <= max)?.[1] ?? '61';
}

const OBU_SEQUENCE_HEADER = 1;

/**
 * `av01.P.LLT.DD` from the temporal unit's sequence header OBU (profile, first operating point's
 * level and tier, bit depth); `av01.0.08M.08` when the header is absent or uses timing info.
 */
export function av1CodecString(data: Buffer): string {
  const header = av1SequenceHeader(data);
  if (!header) return 'av01.0.08M.08';
  const bits = new BitReader(header);
  const profile = bits.read(3);
  bits.read(1); // still_picture
  const reduced = bits.read(1);
  let level = 8;
  let tier = 'M';
  if (reduced) {
    level = bits.read(5);
  } else {
    // Why: timing info carries variable-length fields; the defaults are enough for a decoder.
    if (bits.read(1)) return `av01.${profile}.08M.08`;
    bits.read(1); // initial_display_delay_present_flag, assumed 0 by WebRTC encoders
    bits.read(5); // operating_points_cnt_minus_1
    bits.read(12); // operating_point_idc[0]
    level = bits.read(5);
    if (level > 7 && bits.read(1)) tier = 'H';
  }
  return `av01.${profile}.${String(level).padStart(2, '0')}${tier}.08`;
}

function av1SequenceHeader(data: Buffer): Buffer | null {
  let offset = 0;
  while (offset < data.length) {
    const header = data[offset]!;
    const type = (header >> 3) & 0xf;
    const hasSize = (header >> 1) & 1;
    const extension = (header >> 2) & 1;
    offset += 1 + extension;
    if (!hasSize) return type === OBU_SEQUENCE_HEADER ? data.subarray(offset) : null;
    let size = 0;
    for (let i = 0; i < 8 && offset < data.length; i++) {
      const byte = data[offset++]!;
      size |= (byte & 0x7f) << (7 * i);
      if (!(byte & 0x80)) break;
    }
    if (type === OBU_SEQUENCE_HEADER) return data.subarray(offset, offset + size);
    offset += size;
  }
  return null;
}

class BitReader {
  #bit = 0;
  readonly #data: Buffer;

  constructor(data: Buffer) {
    this.#data = data;
  }

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#data[this.#bit >> 3] ?? 0;
      value = (value << 1) | ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }
}

/** Width and height from a VP8 keyframe header (RFC 6386 §9.1), or null. */
export function vp8KeyframeSize(data: Buffer): { width: number; height: number } | null {
  // A keyframe has bit 0 clear and the start code 9d 01 2a at bytes 3-5.
  if (data.length < 10 || data[0]! & 1 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a)
    return null;
  return { width: data.readUInt16LE(6) & 0x3fff, height: data.readUInt16LE(8) & 0x3fff };
}
