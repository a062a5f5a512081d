import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeCounts, probe } from '../../test/ffmpeg-probe.ts';
import { FileOutput } from '../mux/byte-output.ts';
import { h264Fixture, interleave, opusFixture } from '../testing/fixtures.ts';
import { Mp4Recording } from './mp4-recording.ts';

const SECONDS = 3;
const FPS = 30;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mp4-recording-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 3 s of H264 (a keyframe every 2 s) and Opus, interleaved as a tap delivers them, into an MP4. */
async function record(name: string): Promise<string> {
  const video = await h264Fixture({ seconds: SECONDS, fps: FPS, gop: 2 * FPS, width: 320, height: 240 });
  const audio = await opusFixture({ seconds: SECONDS });
  const path = join(dir, name);
  const recording = new Mp4Recording(await FileOutput.create(path), {
    video: 'h264',
    audio: { codec: 'opus', sampleRate: 48_000, channels: 2 },
  });
  for (const frame of interleave(video.frames, audio)) recording.write(frame);
  await recording.end('stopped');
  return path;
}

describe('Mp4Recording', () => {
  it('H264 + Opus → fragmented MP4: ffprobe reads both tracks and 3 s; every frame decodes', async () => {
    const path = await record('whole.mp4');
    const p = await probe(path);
    const v = p.streams.find((s) => s.codec_type === 'video');
    assert.deepEqual([v?.codec_name, v?.width, v?.height], ['h264', 320, 240]);
    assert.equal(p.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'opus');
    const duration = Number(p.format.duration);
    assert.ok(Math.abs(duration - SECONDS) <= 0.1, `duration ${duration}`);
    const decoded = await decodeCounts(path);
    assert.equal(decoded.errors, '');
    assert.equal(decoded.videoFrames, SECONDS * FPS);
  });

  it('a file cut short (a killed server) plays up to its last whole fragment', async () => {
    const path = await record('cut-source.mp4');
    const bytes = await readFile(path);
    const cut = join(dir, 'cut.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const decoded = await decodeCounts(cut);
    // Fragments are cut at least every second: at most one second's frames (and the cut one) lost.
    assert.ok(decoded.videoFrames >= Math.floor(SECONDS * FPS * 0.7) - FPS, `${decoded.videoFrames} frames`);
    assert.ok(decoded.audioFrames > 0);
  });
});
