import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeCounts as decode, probe as ffprobe } from '../../test/ffmpeg-probe.ts';
import { readIvf } from '../../test/media-files.ts';
import { readSizedObu } from '../media/av1-obu.ts';
import { parseVp9KeyframeSize } from '../media/depacketize-vp9.ts';
import { ffmpeg } from '../testing/ffmpeg.ts';
import { OPUS_20MS } from '../testing/rtp-build.ts';
import { FileOutput, MemoryOutput } from './byte-output.ts';
import { av1CodecPrivate } from './webm-tracks.ts';
import { WebmWriter } from './webm-writer.ts';

const FPS = 30;
const SECONDS = 2;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webm-writer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Codec = 'vp8' | 'vp9' | 'av1';
const ENCODER: Record<Codec, string[]> = {
  vp8: ['-c:v', 'libvpx', '-deadline', 'realtime', '-g', '30'],
  vp9: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30'],
  av1: ['-c:v', 'libaom-av1', '-cpu-used', '8', '-g', '30', '-usage', 'realtime'],
};

/** Frames of `SECONDS` of testsrc at 320x240 encoded by ffmpeg, with their keyframe flags. */
async function encoded(codec: Codec): Promise<Array<{ data: Buffer; keyframe: boolean; ptsUs: number }>> {
  const file = join(dir, `${codec}.ivf`);
  await ffmpeg([
    ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=${FPS}`, '-t', String(SECONDS)],
    ...ENCODER[codec],
    ...['-f', 'ivf', file],
  ]);
  // readIvf marks VP8 keyframes; VP9 and AV1 ones are told by their headers.
  return readIvf(await readFile(file)).map(({ data, ptsUs, keyframe }) => {
    if (codec === 'vp8') return { data, ptsUs, keyframe };
    if (codec === 'vp9') return { data, ptsUs, keyframe: parseVp9KeyframeSize(data) !== undefined };
    return { data: withoutTemporalDelimiters(data), ptsUs, keyframe: av1CodecPrivate(data) !== undefined };
  });
}

function withoutTemporalDelimiters(tu: Buffer): Buffer {
  const kept: Buffer[] = [];
  for (let at = 0; at < tu.length; ) {
    const obu = readSizedObu(tu, at)!;
    if (obu.type !== 2) kept.push(tu.subarray(at, obu.next));
    at = obu.next;
  }
  return Buffer.concat(kept);
}

/** Writes the video frames and 20 ms Opus packets over the same time into a WebM file. */
async function writeFile_(codec: Codec, name: string, finish: boolean): Promise<string> {
  const frames = await encoded(codec);
  const path = join(dir, name);
  const out = await FileOutput.create(path);
  const codecPrivate = codec === 'av1' ? av1CodecPrivate(frames[0]!.data) : undefined;
  const writer = new WebmWriter(out, [
    { kind: 'video', codec, width: 320, height: 240, ...(codecPrivate && { codecPrivate }) },
    { kind: 'audio', codec: 'opus', channels: 2 },
  ]);
  let audioUs = 0;
  for (const frame of frames) {
    writer.write(0, { ...frame, durationUs: 1e6 / FPS });
    for (; audioUs <= frame.ptsUs; audioUs += 20_000)
      writer.write(1, { data: OPUS_20MS, ptsUs: audioUs, keyframe: true, durationUs: 20_000 });
  }
  if (finish) writer.finish();
  await out.close();
  return path;
}

describe('WebmWriter', () => {
  for (const codec of ['vp8', 'vp9', 'av1'] as const)
    it(`${codec} + Opus: ffprobe reads the codecs, size and duration; every frame decodes`, async () => {
      const path = await writeFile_(codec, `${codec}.webm`, true);
      const probe = await ffprobe(path);
      assert.equal(probe.format.format_name, 'matroska,webm');
      const v = probe.streams.find((s) => s.codec_type === 'video');
      assert.deepEqual([v?.codec_name, v?.width, v?.height], [codec, 320, 240]);
      assert.equal(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'opus');
      const duration = Number(probe.format.duration);
      assert.ok(Math.abs(duration - SECONDS) <= 1 / FPS + 0.001, `duration ${duration}`);
      const decoded = await decode(path);
      assert.equal(decoded.errors, '');
      assert.equal(decoded.videoFrames, SECONDS * FPS);
    });

  it('a file finished cleanly is seekable (Cues, SeekHead) and one cut anywhere still plays', async () => {
    const path = await writeFile_('vp8', 'whole.webm', true);
    await ffmpeg(['-v', 'error', '-ss', '1.5', '-i', path, '-frames:v', '1', '-f', 'null', '-']);
    const recording = await writeFile_('vp8', 'recording.webm', false);
    const unfinished = await decode(recording);
    assert.deepEqual([unfinished.errors, unfinished.videoFrames], ['', SECONDS * FPS]);
    const bytes = await readFile(recording);
    let previous = 0;
    for (const fraction of [0.31, 0.5, 0.77, 0.999]) {
      const cut = join(dir, `cut-${fraction}.webm`);
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * fraction)));
      const probe = await ffprobe(cut);
      assert.equal(probe.streams.find((s) => s.codec_type === 'video')?.codec_name, 'vp8');
      const decoded = await decode(cut);
      // The demuxer notes the cut; the decoders find nothing wrong in what is there.
      const other = decoded.errors.split('\n').filter((line) => !line.includes('File ended prematurely'));
      assert.deepEqual(other, []);
      assert.ok(decoded.videoFrames > previous, `${fraction}: ${decoded.videoFrames} frames`);
      previous = decoded.videoFrames;
    }
    // Cut within the last frame: all the frames before it play.
    assert.ok(previous >= SECONDS * FPS - 1, `${previous} frames`);
  });

  it('writes EBML sizes and patches them on finish', () => {
    const out = new MemoryOutput();
    const writer = new WebmWriter(out, [{ kind: 'audio', codec: 'opus', channels: 1 }]);
    writer.write(0, { data: OPUS_20MS, ptsUs: 0, keyframe: true, durationUs: 20_000 });
    const before = Buffer.from(out.bytes());
    assert.ok(
      before.includes(Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff])),
      'unknown-size cluster',
    );
    writer.finish();
    const after = out.bytes();
    assert.ok(!after.includes(Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff])));
    assert.ok(after.includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b])), 'Cues');
    assert.ok(after.includes(Buffer.from([0x11, 0x4d, 0x9b, 0x74])), 'SeekHead');
  });
});
