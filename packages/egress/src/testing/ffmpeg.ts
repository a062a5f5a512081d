import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Test helpers around Debian's ffmpeg/ffprobe (the egress test stage installs them). */

const run = promisify(execFile);

export async function ffmpeg(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('ffmpeg', ['-hide_banner', '-nostdin', '-y', ...args], { maxBuffer: 64 * 1024 * 1024 });
}

export async function ffprobeJson(args: string[]): Promise<FfprobeResult> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as FfprobeResult;
}

export interface FfprobeResult {
  streams?: Array<Record<string, string | number | undefined>>;
  format?: Record<string, string | number | undefined>;
  frames?: Array<Record<string, string | number | undefined>>;
}

/** Every frame of an input decoded; rejects with ffmpeg's errors when there are any. */
export async function decodeAll(input: string): Promise<void> {
  const { stderr } = await ffmpeg(['-v', 'error', '-i', input, '-f', 'null', '-']);
  if (stderr.trim() !== '') throw new Error(`decoding ${input}: ${stderr}`);
}
