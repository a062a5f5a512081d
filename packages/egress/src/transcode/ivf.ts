import type { VideoCodecName } from '../media/frame.ts';

/**
 * IVF, the simplest container ffmpeg reads VP8/VP9/AV1 from a pipe with per-frame timestamps: a
 * 32-byte file header, then per frame a 12-byte header (size, 64-bit pts) and the frame.
 * https://wiki.multimedia.cx/index.php/IVF
 */

/** Timestamps are written in microseconds, as MediaFrame carries them. */
export const IVF_TIMEBASE_DEN = 1_000_000;

const FOURCC: Record<Exclude<VideoCodecName, 'h264'>, string> = {
  vp8: 'VP80',
  vp9: 'VP90',
  av1: 'AV01',
};

export function ivfFileHeader(codec: Exclude<VideoCodecName, 'h264'>, width: number, height: number): Buffer {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'latin1');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(32, 6);
  header.write(FOURCC[codec], 8, 'latin1');
  header.writeUInt16LE(width & 0xffff, 12);
  header.writeUInt16LE(height & 0xffff, 14);
  header.writeUInt32LE(IVF_TIMEBASE_DEN, 16);
  header.writeUInt32LE(1, 20);
  // Frame count: unknown on a live pipe (readers do not need it).
  header.writeUInt32LE(0, 24);
  return header;
}

export function ivfFrameHeader(size: number, pts: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(size, 0);
  header.writeBigInt64LE(BigInt(pts), 4);
  return header;
}

export interface IvfFile {
  fourcc: string;
  width: number;
  height: number;
  /** Seconds per timestamp unit = num / den. */
  timebase: { num: number; den: number };
  frames: { pts: number; data: Buffer }[];
}

/** Reads a whole IVF file (tests and tools; the transcoders only write IVF). */
export function readIvf(file: Buffer): IvfFile {
  if (file.toString('latin1', 0, 4) !== 'DKIF') throw new TypeError('not an IVF file');
  const headerSize = file.readUInt16LE(6);
  const frames: IvfFile['frames'] = [];
  for (let at = headerSize; at + 12 <= file.length; ) {
    const size = file.readUInt32LE(at);
    const pts = Number(file.readBigInt64LE(at + 4));
    frames.push({ pts, data: file.subarray(at + 12, at + 12 + size) });
    at += 12 + size;
  }
  return {
    fourcc: file.toString('latin1', 8, 12),
    width: file.readUInt16LE(12),
    height: file.readUInt16LE(14),
    timebase: { den: file.readUInt32LE(16), num: file.readUInt32LE(20) },
    frames,
  };
}
