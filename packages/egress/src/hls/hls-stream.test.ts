import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { AudioFrame, MediaFrame } from '../media/frame.ts';
import { decodeAll, ffprobeJson } from '../testing/ffmpeg.ts';
import { aacFixture, h264Fixture, interleave, opusFixture, type VideoFixture } from '../testing/fixtures.ts';
import { HlsStream, type HlsStreamOptions } from './hls-stream.ts';

const SECONDS = 6;

async function runStream(frames: MediaFrame[], options: Partial<HlsStreamOptions>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hls-'));
  const stream = new HlsStream({
    dir,
    segmentSeconds: 2,
    partSeconds: 0.5,
    windowSegments: 10,
    tracks: ['video', 'opus'],
    logger: silentLogger(),
    now: () => Date.UTC(2026, 0, 1),
    ...options,
  });
  for (const frame of frames) stream.write(frame);
  await stream.end('stopped');
  return dir;
}

async function probeDuration(input: string): Promise<number> {
  const result = await ffprobeJson(['-show_entries', 'format=duration', input]);
  return Number(result.format!.duration);
}

function audioSeconds(frames: AudioFrame[]): number {
  return frames.reduce((sum, f) => sum + f.samples / f.sampleRate, 0);
}

describe('HlsStream', () => {
  let video: VideoFixture;
  let opus: AudioFrame[];
  let aac: AudioFrame[];
  before(async () => {
    [video, opus, aac] = await Promise.all([
      h264Fixture({ seconds: SECONDS }),
      opusFixture({ seconds: SECONDS }),
      aacFixture({ seconds: SECONDS }),
    ]);
  });

  it('writes H264 + Opus playlists that ffmpeg decodes with the input duration', async () => {
    const dir = await runStream(interleave(video.frames, opus), {});
    const master = await readFile(join(dir, 'master.m3u8'), 'utf8');
    assert.match(master, /CODECS="avc1\.42c01e,opus"/);
    assert.match(master, /RESOLUTION=640x360,FRAME-RATE=30\.000/);
    assert.match(
      master,
      /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-opus",NAME="Opus",DEFAULT=YES,AUTOSELECT=YES/,
    );
    const videoSeconds = await probeDuration(join(dir, 'video/index.m3u8'));
    assert.ok(Math.abs(videoSeconds - SECONDS) <= 1 / 30, `video ${videoSeconds}`);
    const opusSeconds = await probeDuration(join(dir, 'audio-opus/index.m3u8'));
    assert.ok(Math.abs(opusSeconds - audioSeconds(opus)) <= 0.02, `audio ${opusSeconds}`);
    await decodeAll(join(dir, 'master.m3u8'));
    const segments = (await readdir(join(dir, 'video'))).filter((f) => f.startsWith('seg-'));
    assert.deepEqual(segments.sort(), ['seg-0.m4s', 'seg-1.m4s', 'seg-2.m4s']);
  });

  it('every video segment starts with a keyframe and lasts segmentSeconds', async () => {
    const dir = await runStream(video.frames, { tracks: ['video'] });
    for (const msn of [0, 1, 2]) {
      const file = join(dir, `video/seg-${msn}.m4s`);
      const joined = join(dir, `joined-${msn}.mp4`);
      const init = await readFile(join(dir, 'video/init.mp4'));
      await writeFile(joined, Buffer.concat([init, await readFile(file)]));
      const result = await ffprobeJson(['-show_streams', '-show_format', '-show_frames', joined]);
      assert.equal(result.streams![0]!.codec_name, 'h264');
      assert.equal(result.streams![0]!.width, 640);
      assert.equal(result.frames![0]!.key_frame, 1);
      assert.equal(result.frames!.length, 60);
      // A segment keeps its place on the stream's timeline (tfdt): it starts at msn × 2 s.
      assert.ok(Math.abs(Number(result.format!.start_time) - msn * 2) <= 1 / 30, `start ${msn}`);
      // ffprobe's mov duration of a fragment counts from 0: it ends where the next segment starts.
      const end = Number(result.format!.duration);
      assert.ok(Math.abs(end - (msn + 1) * 2) <= 1 / 30, `end ${end}`);
    }
  });

  it('writes Opus and AAC renditions beside the video, each a variant of the master', async () => {
    const dir = await runStream(interleave(video.frames, opus, aac), { tracks: ['video', 'opus', 'aac'] });
    const master = await readFile(join(dir, 'master.m3u8'), 'utf8');
    assert.match(master, /GROUP-ID="audio-mp4a402",NAME="AAC".*URI="audio-aac\/index.m3u8"/);
    assert.match(
      master,
      /CODECS="avc1\.42c01e,mp4a\.40\.2",RESOLUTION=640x360,FRAME-RATE=30\.000,AUDIO="audio-mp4a402"/,
    );
    const aacSeconds = await probeDuration(join(dir, 'audio-aac/index.m3u8'));
    assert.ok(Math.abs(aacSeconds - audioSeconds(aac)) <= 1024 / 48000, `aac ${aacSeconds}`);
    await decodeAll(join(dir, 'audio-aac/index.m3u8'));
  });

  it('cuts audio segments where the video cut them', async () => {
    const dir = await runStream(interleave(video.frames, opus), {});
    const videoList = await readFile(join(dir, 'video/index.m3u8'), 'utf8');
    const audioList = await readFile(join(dir, 'audio-opus/index.m3u8'), 'utf8');
    const durations = (text: string) => [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    assert.equal(durations(audioList).length, durations(videoList).length);
    for (const [i, d] of durations(videoList).entries()) {
      assert.ok(Math.abs(d - durations(audioList)[i]!) <= 0.03, `segment ${i}`);
    }
  });

  it('writes an audio-only stream cut by time', async () => {
    const dir = await runStream(opus, { tracks: ['opus'] });
    const master = await readFile(join(dir, 'master.m3u8'), 'utf8');
    assert.match(
      master,
      /#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="opus"\naudio-opus\/index.m3u8/,
    );
    await decodeAll(join(dir, 'master.m3u8'));
  });

  it('drops video until a keyframe with SPS/PPS and asks for one', async () => {
    let asked = 0;
    const dir = await runStream(video.frames.slice(5), {
      tracks: ['video'],
      onKeyframeNeeded: () => asked++,
    });
    assert.equal(asked, 1);
    const result = await ffprobeJson(['-show_entries', 'format=duration', join(dir, 'video/index.m3u8')]);
    assert.ok(Math.abs(Number(result.format!.duration) - (SECONDS - 1)) <= 1 / 30);
  });
});
