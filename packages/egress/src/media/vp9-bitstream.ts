import { BitReader, BitstreamError } from './bit-reader.ts';

/**
 * What the egress reads and writes of the VP9 bitstream itself (not its RTP payload): frame sizes
 * from the uncompressed header (VP9 bitstream spec §6.2) and superframes (Annex B), which carry
 * the layer frames of one SVC picture as one block of a file.
 */

const SYNC_CODE = 0x498342;
const CS_RGB = 7;
/** Annex B: a superframe holds at most 8 frames (frames_in_superframe_minus_1 is 3 bits). */
export const MAX_SUPERFRAME_FRAMES = 8;

export interface FrameSize {
  width: number;
  height: number;
}

/** §6.2 up to frame_type: the profile, or undefined when the header is not a new frame. */
interface HeaderStart {
  profile: number;
  keyframe: boolean;
  showFrame: boolean;
  errorResilient: boolean;
}

function readStart(r: BitReader): HeaderStart | undefined {
  if (r.bits(2) !== 2) return undefined;
  const profile = r.bit() | (r.bit() << 1);
  if (profile === 3) r.skip(1);
  if (r.bit() === 1) return undefined; // show_existing_frame: no size of its own
  const keyframe = r.bit() === 0;
  const showFrame = r.bit() === 1;
  return { profile, keyframe, showFrame, errorResilient: r.bit() === 1 };
}

/** frame_sync_code, then color_config (§6.2.2); false when the sync code is wrong. */
function readSyncAndColor(r: BitReader, profile: number): boolean {
  if (r.bits(24) !== SYNC_CODE) return false;
  readColor(r, profile);
  return true;
}

function readColor(r: BitReader, profile: number): void {
  if (profile >= 2) r.skip(1);
  const colorSpace = r.bits(3);
  if (colorSpace !== CS_RGB) {
    r.skip(1);
    if (profile === 1 || profile === 3) r.skip(3);
  } else if (profile === 1 || profile === 3) r.skip(1);
}

function readSize(r: BitReader): FrameSize {
  return { width: r.bits(16) + 1, height: r.bits(16) + 1 };
}

/** A non-key frame's size (intra-only, or inter with frame_size_with_refs giving it explicitly). */
function readInterSize(r: BitReader, start: HeaderStart): FrameSize | undefined {
  const intraOnly = start.showFrame ? false : r.bit() === 1;
  if (!start.errorResilient) r.skip(2); // reset_frame_context
  if (intraOnly) {
    if (r.bits(24) !== SYNC_CODE) return undefined;
    // Why: profile 0 intra-only frames have no color_config (8-bit 4:2:0 implied).
    if (start.profile > 0) readColor(r, start.profile);
    r.skip(8); // refresh_frame_flags
    return readSize(r);
  }
  r.skip(8 + 3 * 4); // refresh_frame_flags, ref_frame_idx and sign bias × 3
  // Why: a size copied from a reference (found_ref) is that reference's, which this header does not say.
  for (let i = 0; i < 3; i++) if (r.bit() === 1) return undefined;
  return readSize(r);
}

/**
 * Frame size of a VP9 keyframe from its uncompressed header (frame marker, profile, frame type,
 * sync code, color config, frame_size), or undefined when it is not one.
 */
export function parseVp9KeyframeSize(frame: Uint8Array): FrameSize | undefined {
  try {
    const r = new BitReader(frame);
    const start = readStart(r);
    if (!start?.keyframe || !readSyncAndColor(r, start.profile)) return undefined;
    return readSize(r);
  } catch (err) {
    if (err instanceof BitstreamError) return undefined;
    throw err;
  }
}

/**
 * Size of any VP9 frame whose header states it: keyframes, intra-only frames, and inter frames
 * that give it explicitly (an SVC upper layer on a keyframe picture: its references, the lower
 * layer, have another size). Undefined when the size comes from a reference or the header is bad.
 */
export function parseVp9FrameSize(frame: Uint8Array): FrameSize | undefined {
  try {
    const r = new BitReader(frame);
    const start = readStart(r);
    if (!start) return undefined;
    if (start.keyframe) return readSyncAndColor(r, start.profile) ? readSize(r) : undefined;
    return readInterSize(r, start);
  } catch (err) {
    if (err instanceof BitstreamError) return undefined;
    throw err;
  }
}

/** Bytes a little-endian size field needs for `size` (Annex B bytes_per_framesize, 1..4). */
function sizeBytes(size: number): number {
  if (size < 0x100) return 1;
  if (size < 0x10000) return 2;
  return size < 0x1000000 ? 3 : 4;
}

/**
 * A superframe (Annex B): the frames one after the other, then the index: a marker byte
 * 0b110 | bytes_per_framesize - 1 (2 bits) | frames - 1 (3 bits), each frame's size little-endian
 * on that many bytes, and the marker byte again. One frame is returned as it is.
 */
export function vp9Superframe(frames: readonly Buffer[]): Buffer {
  if (frames.length === 1) return frames[0]!;
  if (frames.length < 1 || frames.length > MAX_SUPERFRAME_FRAMES)
    throw new RangeError(`a superframe holds 1 to ${MAX_SUPERFRAME_FRAMES} frames, not ${frames.length}`);
  const bytes = sizeBytes(Math.max(...frames.map((f) => f.length)));
  const marker = 0xc0 | ((bytes - 1) << 3) | (frames.length - 1);
  const index = Buffer.alloc(2 + bytes * frames.length);
  index[0] = marker;
  frames.forEach((f, i) => {
    index.writeUIntLE(f.length, 1 + i * bytes, bytes);
  });
  index[index.length - 1] = marker;
  return Buffer.concat([...frames, index]);
}

/**
 * The frames of a superframe by its index (Annex B), or the data as one frame when it has no
 * valid index (the marker byte at both ends of it, sizes within the data).
 */
export function vp9SuperframeFrames(data: Buffer): Buffer[] {
  const marker = data[data.length - 1] ?? 0;
  if ((marker & 0xe0) !== 0xc0) return [data];
  const count = (marker & 0x7) + 1;
  const bytes = ((marker >> 3) & 0x3) + 1;
  const indexSize = 2 + bytes * count;
  if (data.length < indexSize || data[data.length - indexSize] !== marker) return [data];
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const size = data.readUIntLE(data.length - indexSize + 1 + i * bytes, bytes);
    if (at + size > data.length - indexSize) return [data];
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

/**
 * show_frame of a frame's header (§6.2): 1 for a shown frame or show_existing_frame, 0 for a
 * hidden one (or a header that is not VP9's).
 */
export function vp9FrameShown(frame: Uint8Array): boolean {
  const byte = frame[0] ?? 0;
  if (byte >> 6 !== 2) return false;
  const profile = ((byte >> 5) & 1) | (((byte >> 4) & 1) << 1);
  // Bit n after the frame marker (n = 0: profile_low_bit); profile 3 has a reserved bit more.
  const bit = (n: number) => (byte >> (5 - n)) & 1;
  const showExisting = profile === 3 ? 3 : 2;
  if (bit(showExisting) === 1) return true;
  return bit(showExisting + 2) === 1;
}
