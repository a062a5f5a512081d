import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Media made and checked with the ffmpeg/ffprobe on PATH, for the transcoder tests. */

export const run = promisify(execFile);

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bbmeet-transcode-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs ffmpeg quietly and returns the file it wrote. */
export async function ffmpegFile(dir: string, name: string, args: string[]): Promise<Buffer> {
  const path = join(dir, name);
  await run('ffmpeg', ['-v', 'error', '-y', ...args, path]);
  return readFile(path);
}

/** ffprobe's JSON for a file (streams and format, plus frame counts when `countFrames`). */
export async function probe(path: string, countFrames = false): Promise<ProbeResult> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
  const { stdout } = await run('ffprobe', [...args, ...(countFrames ? ['-count_frames'] : []), path]);
  return JSON.parse(stdout) as ProbeResult;
}

export interface ProbeResult {
  streams: {
    codec_name: string;
    width?: number;
    height?: number;
    sample_rate?: string;
    channels?: number;
    nb_read_frames?: string;
    duration?: string;
  }[];
  format: { duration?: string };
}
