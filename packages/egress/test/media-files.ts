import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { VideoFrame } from '../src/media/frame.ts';

const run = promisify(execFile);

/** A test pattern encoded by ffmpeg: 320x240, 15 fps, a keyframe every second. */
export async function encodeTestVideo(
  dir: string,
  codec: 'vp8' | 'h264',
  seconds: number,
): Promise<VideoFrame[]> {
  const input = ['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=15`, '-t', String(seconds)];
  if (codec === 'vp8') {
    const file = path.join(dir, 'test.ivf');
    await run('ffmpeg', ['-v', 'error', '-y', ...input, '-c:v', 'libvpx', '-g', '15', '-f', 'ivf', file]);
    return readIvf(await readFile(file));
  }
  const file = path.join(dir, 'test.h264');
  const x264 = ['-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '15'];
  await run('ffmpeg', ['-v', 'error', '-y', ...input, ...x264, '-x264-params', 'aud=1', '-f', 'h264', file]);
  return readAnnexB(await readFile(file), 15);
}

/** VP8 frames of an IVF file (32-byte header, then a 12-byte header per frame: size, pts). */
export function readIvf(file: Buffer): VideoFrame[] {
  const width = file.readUInt16LE(12);
  const height = file.readUInt16LE(14);
  const rate = file.readUInt32LE(16);
  const scale = file.readUInt32LE(20);
  const frames: VideoFrame[] = [];
  for (let offset = file.readUInt16LE(6); offset + 12 <= file.length; ) {
    const size = file.readUInt32LE(offset);
    const pts = Number(file.readBigUInt64LE(offset + 4));
    const data = file.subarray(offset + 12, offset + 12 + size);
    offset += 12 + size;
    const keyframe = (data[0]! & 1) === 0;
    frames.push({
      kind: 'video',
      codec: 'vp8',
      data,
      keyframe,
      ptsUs: (pts * scale * 1e6) / rate,
      width,
      height,
    });
  }
  return frames;
}

/** H264 access units of an Annex B stream cut at its AUDs, as AVCC (what the depacketizer gives). */
export function readAnnexB(file: Buffer, fps: number): VideoFrame[] {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 3 <= file.length; i++) {
    if (file[i] === 0 && file[i + 1] === 0 && file[i + 2] === 1) {
      if (start >= 0) nals.push(trimZeros(file.subarray(start, i)));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nals.push(file.subarray(start));
  const frames: VideoFrame[] = [];
  let unit: Buffer[] = [];
  const flush = () => {
    if (unit.length === 0) return;
    const keyframe = unit.some((nal) => (nal[0]! & 0x1f) === 5);
    const data = Buffer.concat(unit.flatMap((nal) => [u32(nal.length), nal]));
    const ptsUs = (frames.length * 1e6) / fps;
    frames.push({ kind: 'video', codec: 'h264', data, keyframe, ptsUs, width: 320, height: 240 });
    unit = [];
  };
  for (const nal of nals) {
    if ((nal[0]! & 0x1f) === 9) flush();
    else unit.push(nal);
  }
  flush();
  return frames;
}

function trimZeros(nal: Buffer): Buffer {
  let end = nal.length;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
