import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAX_BUFFER = 64 * 1024 * 1024;

/** Runs ffmpeg (Debian's, on PATH) and gives its stdout; rejects on a non-zero exit. */
export async function ffmpeg(args: string[]): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-nostdin', ...args], {
    encoding: 'buffer',
    maxBuffer: MAX_BUFFER,
  });
  return stdout;
}

export interface Probe {
  streams: Array<{
    codec_name: string;
    codec_type: string;
    width?: number;
    height?: number;
    channels?: number;
  }>;
  format: { duration?: string; format_name: string };
}

export async function ffprobe(path: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name,codec_type,width,height,channels:format=duration,format_name',
    '-of',
    'json',
    path,
  ]);
  return JSON.parse(stdout) as Probe;
}

/**
 * Decodes every frame of a file: the stderr of `ffmpeg -v error` (empty when nothing was wrong)
 * and the number of video frames decoded.
 */
export async function decode(
  path: string,
): Promise<{ errors: string; videoFrames: number; audioFrames: number }> {
  const { stdout, stderr } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_type,nb_read_frames',
      '-of',
      'json',
      path,
    ],
    { maxBuffer: MAX_BUFFER },
  );
  const streams = (JSON.parse(stdout) as { streams: Array<{ codec_type: string; nb_read_frames?: string }> })
    .streams;
  const count = (type: string) => Number(streams.find((s) => s.codec_type === type)?.nb_read_frames ?? 0);
  const full = await run('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-i',
    path,
    '-f',
    'null',
    '-',
  ]);
  return {
    errors: `${stderr}${full.stderr}`.trim(),
    videoFrames: count('video'),
    audioFrames: count('audio'),
  };
}

/** The frames of an IVF file (VP8/VP9/AV1 as ffmpeg writes them with `-f ivf`). */
export function ivfFrames(ivf: Buffer): Array<{ data: Buffer; pts: number }> {
  const headerBytes = ivf.readUInt16LE(6);
  const frames: Array<{ data: Buffer; pts: number }> = [];
  for (let at = headerBytes; at + 12 <= ivf.length; ) {
    const size = ivf.readUInt32LE(at);
    frames.push({ pts: Number(ivf.readBigUInt64LE(at + 4)), data: ivf.subarray(at + 12, at + 12 + size) });
    at += 12 + size;
  }
  return frames;
}
