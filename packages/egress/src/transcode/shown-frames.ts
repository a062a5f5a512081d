import type { VideoCodecName } from '../media/frame.ts';

/**
 * How many pictures a decoder outputs for one input frame: 0 for a VP8 frame with show_frame unset
 * (an alt-ref), the shown frames of a VP9 superframe; AV1 temporal units show one picture.
 * The video transcoder maps output pictures to input timestamps by this count.
 */
export function shownPictures(codec: VideoCodecName, data: Buffer): number {
  if (data.length === 0) return 0;
  if (codec === 'vp8') {
    // RFC 6386 §9.1: frame tag bit 4 is show_frame.
    return ((data[0] ?? 0) >> 4) & 1;
  }
  if (codec === 'vp9') return vp9SuperframeSizes(data).reduce((n, f) => n + vp9Shown(f), 0);
  return 1;
}

/** VP9 bitstream spec annex B: an optional index at the end lists the frames of a superframe. */
function vp9SuperframeSizes(data: Buffer): Buffer[] {
  const marker = data[data.length - 1] ?? 0;
  if ((marker & 0xe0) !== 0xc0) return [data];
  const frames = (marker & 0x7) + 1;
  const sizeBytes = ((marker >> 3) & 0x3) + 1;
  const indexSize = 2 + sizeBytes * frames;
  if (data.length < indexSize || data[data.length - indexSize] !== marker) return [data];
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < frames; i++) {
    const size = data.readUIntLE(data.length - indexSize + 1 + i * sizeBytes, sizeBytes);
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** VP9 uncompressed header §6.2: show_existing_frame, then frame_type and show_frame. */
function vp9Shown(frame: Buffer): number {
  const byte = frame[0] ?? 0;
  if (byte >> 6 !== 2) return 0;
  const profile = ((byte >> 5) & 1) | (((byte >> 4) & 1) << 1);
  // Bit n after the frame marker (n = 0: profile_low_bit); profile 3 has a reserved bit more.
  const bit = (n: number) => (byte >> (5 - n)) & 1;
  const showExisting = profile === 3 ? 3 : 2;
  if (bit(showExisting) === 1) return 1;
  return bit(showExisting + 2);
}
