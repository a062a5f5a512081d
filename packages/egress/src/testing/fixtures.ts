import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioFrame, VideoFrame } from '../media/frame.ts';
import { adtsToFrames } from './adts.ts';
import { annexBToFrames } from './annexb.ts';
import { ffmpeg } from './ffmpeg.ts';
import { oggOpusToFrames } from './ogg-opus.ts';

/** Test helper: real coded streams made by ffmpeg, split into MediaFrames. */

export interface VideoFixture {
  frames: VideoFrame[];
  fps: number;
  width: number;
  height: number;
}

export async function h264Fixture(options: {
  seconds: number;
  fps?: number;
  gop?: number;
  width?: number;
  height?: number;
}): Promise<VideoFixture> {
  const fps = options.fps ?? 30;
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const file = join(await mkdtemp(join(tmpdir(), 'egress-fixture-')), 'video.h264');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}`, '-t', String(options.seconds)],
    ...['-c:v', 'libx264', '-profile:v', 'baseline', '-g', String(options.gop ?? fps), '-bf', '0'],
    ...['-x264-params', 'scenecut=0', '-pix_fmt', 'yuv420p', '-f', 'h264', file],
  ]);
  return { frames: annexBToFrames(await readFile(file), { fps }), fps, width, height };
}

export async function opusFixture(options: { seconds: number; channels?: number }): Promise<AudioFrame[]> {
  const file = join(await mkdtemp(join(tmpdir(), 'egress-fixture-')), 'audio.ogg');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(options.seconds)],
    ...['-ac', String(options.channels ?? 2), '-c:a', 'libopus', '-b:a', '64k', '-f', 'ogg', file],
  ]);
  return oggOpusToFrames(await readFile(file));
}

export async function aacFixture(options: { seconds: number }): Promise<AudioFrame[]> {
  const file = join(await mkdtemp(join(tmpdir(), 'egress-fixture-')), 'audio.aac');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(options.seconds)],
    ...['-ac', '2', '-c:a', 'aac', '-b:a', '96k', '-f', 'adts', file],
  ]);
  return adtsToFrames(await readFile(file));
}

/** Video and audio frames merged in the order a live tap delivers them (by presentation time). */
export function interleave(...tracks: Array<Array<VideoFrame | AudioFrame>>): Array<VideoFrame | AudioFrame> {
  return tracks.flat().sort((a, b) => a.ptsUs - b.ptsUs);
}
