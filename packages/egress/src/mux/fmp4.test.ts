import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { MediaFrame } from '../media/frame.ts';
import { decodeAll, ffprobeJson } from '../testing/ffmpeg.ts';
import { aacFixture, h264Fixture, opusFixture } from '../testing/fixtures.ts';
import { Fmp4Fragmenter } from './fmp4-fragmenter.ts';
import { aacAudioSpecificConfig, codecString, type Fmp4Track, VIDEO_TIMESCALE } from './fmp4-init.ts';
import { h264CodecString, h264ConfigOf, parseSps } from './h264-config.ts';

/** init + one fragment per `perFragment` frames, written to a file ffprobe can read. */
async function muxToFile(track: Fmp4Track, frames: MediaFrame[], perFragment: number): Promise<string> {
  const fragmenter = new Fmp4Fragmenter(track);
  const parts = [fragmenter.init()];
  frames.forEach((frame, i) => {
    if (i > 0 && i % perFragment === 0) parts.push(fragmenter.flush(fragmenter.dtsOf(frame))!.fragment);
    fragmenter.push(frame);
  });
  parts.push(fragmenter.flush()!.fragment);
  const file = join(await mkdtemp(join(tmpdir(), 'fmp4-')), 'out.mp4');
  await writeFile(file, Buffer.concat(parts));
  return file;
}

async function probe(file: string) {
  const result = await ffprobeJson(['-show_streams', '-show_format', '-count_frames', file]);
  return { stream: result.streams![0]!, duration: Number(result.format!.duration) };
}

describe('fMP4/CMAF writer', () => {
  it('writes H264 that ffprobe reads with its size, frame count and duration', async () => {
    const video = await h264Fixture({ seconds: 2 });
    const config = h264ConfigOf(video.frames[0]!.data, video.frames[0]!)!;
    assert.equal(config.width, 640);
    assert.equal(config.height, 360);
    const track: Fmp4Track = { id: 1, kind: 'video', timescale: VIDEO_TIMESCALE, config };
    const file = await muxToFile(track, video.frames, 10);
    const { stream, duration } = await probe(file);
    assert.equal(stream.codec_name, 'h264');
    assert.equal(stream.width, 640);
    assert.equal(stream.height, 360);
    assert.equal(Number(stream.nb_read_frames), video.frames.length);
    assert.ok(Math.abs(duration - 2) <= 1 / 30, `duration ${duration}`);
    await decodeAll(file);
  });

  it('writes Opus at 48 kHz that decodes without errors', async () => {
    const frames = await opusFixture({ seconds: 2 });
    const track: Fmp4Track = {
      id: 2,
      kind: 'audio',
      timescale: 48000,
      config: { codec: 'opus', sampleRate: 48000, channels: 2 },
    };
    const file = await muxToFile(track, frames, 16);
    const { stream, duration } = await probe(file);
    assert.equal(stream.codec_name, 'opus');
    assert.equal(Number(stream.sample_rate), 48000);
    assert.equal(Number(stream.channels), 2);
    assert.equal(Number(stream.nb_read_frames), frames.length);
    // The Ogg file's packets hold the encoder's pre-skip too: the input lasts its packets' length.
    const inputSeconds = frames.reduce((sum, f) => sum + (f.kind === 'audio' ? f.samples : 0), 0) / 48000;
    assert.ok(Math.abs(duration - inputSeconds) <= 0.02, `duration ${duration} vs ${inputSeconds}`);
    await decodeAll(file);
  });

  it('writes AAC with an esds built from the sample rate and channels', async () => {
    const frames = await aacFixture({ seconds: 2 });
    const config = { codec: 'aac' as const, sampleRate: 48000, channels: 2 };
    const track: Fmp4Track = { id: 3, kind: 'audio', timescale: 48000, config };
    assert.equal(codecString(track), 'mp4a.40.2');
    assert.deepEqual(aacAudioSpecificConfig(config), Buffer.from([0x11, 0x90]));
    const file = await muxToFile(track, frames, 20);
    const { stream } = await probe(file);
    assert.equal(stream.codec_name, 'aac');
    assert.equal(stream.profile, 'LC');
    assert.equal(Number(stream.nb_read_frames), frames.length);
    await decodeAll(file);
  });

  it('h264CodecString() names the SPS profile, constraints and level', async () => {
    const video = await h264Fixture({ seconds: 0.2, width: 320, height: 180 });
    const config = h264ConfigOf(video.frames[0]!.data, { width: 0, height: 0 })!;
    assert.match(h264CodecString(config.sps![0]!), /^avc1\.42c0[0-9a-f]{2}$/);
    assert.deepEqual(
      { w: parseSps(config.sps![0]!).width, h: parseSps(config.sps![0]!).height },
      { w: 320, h: 180 },
    );
  });
});
