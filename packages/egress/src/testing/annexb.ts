import type { VideoFrame } from '../media/frame.ts';

/**
 * Test helper: an H264 Annex-B elementary stream (ffmpeg `-f h264`) cut into AVCC access units as
 * the depacketizer hands them over, at a constant frame rate (no B-frames: baseline profile).
 */
export function annexBToFrames(stream: Buffer, options: { fps: number }): VideoFrame[] {
  const frames: VideoFrame[] = [];
  let unit: Buffer[] = [];
  let hasPicture = false;
  const flush = () => {
    if (!hasPicture) return;
    const keyframe = unit.some((n) => (n[0]! & 0x1f) === 5);
    const data = Buffer.concat(unit.flatMap((n) => [lengthPrefix(n.length), n]));
    const ptsUs = Math.round((frames.length * 1e6) / options.fps);
    frames.push({ kind: 'video', codec: 'h264', data, keyframe, ptsUs, width: 0, height: 0 });
    unit = [];
    hasPicture = false;
  };
  for (const nal of splitNalUnits(stream)) {
    const type = nal[0]! & 0x1f;
    const slice = type === 1 || type === 5;
    // A new access unit starts at a non-VCL prefix or at a slice whose first_mb_in_slice is 0.
    const startsUnit = slice ? (nal[1]! & 0x80) !== 0 : type === 9 || type === 7 || type === 8 || type === 6;
    if (startsUnit && hasPicture) flush();
    unit.push(nal);
    if (slice) hasPicture = true;
  }
  flush();
  return frames;
}

function lengthPrefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

function splitNalUnits(stream: Buffer): Buffer[] {
  const starts: Array<{ at: number; header: number }> = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push({ at: i + 3, header: i > 0 && stream[i - 1] === 0 ? i - 1 : i });
      i += 2;
    }
  }
  return starts.map((s, k) => stream.subarray(s.at, starts[k + 1]?.header ?? stream.length));
}
