import { readLeb128 } from '../../../../src/rtp/codecs/av1.ts';
import { BitReader, BitstreamError } from './bit-reader.ts';

const OBU_FORBIDDEN = 0x80;
const OBU_EXTENSION = 0x04;
const OBU_HAS_SIZE = 0x02;

/** AV1 LEB128 encoding of a length (AV1 §4.10.5). */
export function writeLeb128(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0);
  return Buffer.from(bytes);
}

export function obuType(obu: Uint8Array): number {
  return (obu[0]! >> 3) & 0x0f;
}

/**
 * One OBU as it travels in RTP (size field usually absent) rewritten with obu_has_size_field set,
 * as a temporal unit stores it; undefined when its header or size field is malformed.
 */
export function withSizeField(obu: Buffer): Buffer | undefined {
  if (obu.length === 0 || obu[0]! & OBU_FORBIDDEN) return undefined;
  const headerBytes = obu[0]! & OBU_EXTENSION ? 2 : 1;
  if (obu.length < headerBytes) return undefined;
  let payload = obu.subarray(headerBytes);
  if (obu[0]! & OBU_HAS_SIZE) {
    const size = readLeb128(obu, headerBytes, obu.length);
    if (!size || size.next + size.value > obu.length) return undefined;
    payload = obu.subarray(size.next, size.next + size.value);
  }
  const header = Buffer.from(obu.subarray(0, headerBytes));
  header[0]! |= OBU_HAS_SIZE;
  return Buffer.concat([header, writeLeb128(payload.length), payload]);
}

/** The parts of a sequence header (AV1 §5.5) a muxer needs: profile, level, tier and frame size. */
export interface Av1SequenceInfo {
  profile: number;
  level: number;
  tier: number;
  width: number;
  height: number;
}

function skipTimingAndModel(r: BitReader): { modelInfo: boolean; delayBits: number } {
  if (!r.bit()) return { modelInfo: false, delayBits: 0 };
  r.skip(64); // num_units_in_display_tick, time_scale
  if (r.bit()) {
    let zeros = 0;
    while (r.bit() === 0 && zeros < 32) zeros++;
    r.skip(zeros);
  }
  if (!r.bit()) return { modelInfo: false, delayBits: 0 };
  const delayBits = r.bits(5) + 1;
  r.skip(32 + 5 + 5);
  return { modelInfo: true, delayBits };
}

/** Reads the sequence header OBU's payload (after header and size); undefined when truncated. */
export function parseAv1SequenceHeader(payload: Uint8Array): Av1SequenceInfo | undefined {
  try {
    const r = new BitReader(payload);
    const profile = r.bits(3);
    r.skip(1); // still_picture
    if (r.bit()) {
      const level = r.bits(5);
      return sizeOf(r, { profile, level, tier: 0 });
    }
    const timing = skipTimingAndModel(r);
    const displayDelay = r.bit();
    const points = r.bits(5) + 1;
    let first: { level: number; tier: number } | undefined;
    for (let i = 0; i < points; i++) {
      r.skip(12);
      const level = r.bits(5);
      const tier = level > 7 ? r.bit() : 0;
      first ??= { level, tier };
      if (timing.modelInfo && r.bit()) r.skip(2 * timing.delayBits + 1);
      if (displayDelay && r.bit()) r.skip(4);
    }
    return sizeOf(r, { profile, level: first!.level, tier: first!.tier });
  } catch (err) {
    if (err instanceof BitstreamError) return undefined;
    throw err;
  }
}

function sizeOf(r: BitReader, head: { profile: number; level: number; tier: number }): Av1SequenceInfo {
  const widthBits = r.bits(4) + 1;
  const heightBits = r.bits(4) + 1;
  return { ...head, width: r.bits(widthBits) + 1, height: r.bits(heightBits) + 1 };
}

/** The payload of a sized OBU (header, leb128 size, payload) at data[at..], and where the next starts. */
export function readSizedObu(
  data: Uint8Array,
  at: number,
): { type: number; payload: Uint8Array; next: number } | undefined {
  if (at >= data.length) return undefined;
  const headerBytes = data[at]! & OBU_EXTENSION ? 2 : 1;
  const size = readLeb128(data, at + headerBytes, data.length);
  if (!(data[at]! & OBU_HAS_SIZE) || !size || size.next + size.value > data.length) return undefined;
  return {
    type: (data[at]! >> 3) & 0x0f,
    payload: data.subarray(size.next, size.next + size.value),
    next: size.next + size.value,
  };
}
