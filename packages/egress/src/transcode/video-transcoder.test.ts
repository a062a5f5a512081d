import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { VideoConfig, VideoFrame } from '../media/frame.ts';
import { AccessUnitSplitter, toAnnexB } from './annexb.ts';
import { readIvf } from './ivf.ts';
import { ffmpegFile, probe, run } from './test-media.ts';
import { VideoTranscoder } from './video-transcoder.ts';

interface InputFrame {
  data: Buffer;
  ptsUs: number;
  keyframe: boolean;
}

async function vp8Input(
  dir: string,
  size = '640x360',
  seconds = 5,
): Promise<{ frames: InputFrame[]; width: number; height: number }> {
  const ivf = readIvf(
    await ffmpegFile(dir, `in-${size}.ivf`, [
      ...['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=30`, '-t', String(seconds)],
      // Real-time VP8 as a WebRTC publisher encodes it, a keyframe every 30 frames.
      ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-f', 'ivf'],
    ]),
  );
  const usPerTick = (1e6 * ivf.timebase.num) / ivf.timebase.den;
  const frames = ivf.frames.map((f) => ({
    data: f.data,
    // An egress timeline that does not start at 0, with the RTP clock's rounding.
    ptsUs: 1_000_000 + Math.round(f.pts * usPerTick),
    // RFC 6386 §9.1: bit 0 of the frame tag is 0 on a keyframe.
    keyframe: ((f.data[0] ?? 1) & 1) === 0,
  }));
  return { frames, width: ivf.width, height: ivf.height };
}

let dir = '';
let input: Awaited<ReturnType<typeof vp8Input>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bbmeet-video-transcoder-'));
  input = await vp8Input(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function vp8Frame(input: InputFrame, width: number, height: number): VideoFrame {
  return { kind: 'video', codec: 'vp8', ...input, width, height };
}

function avccNals(data: Buffer): Buffer[] {
  const nals: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = data.readUInt32BE(at);
    nals.push(data.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return nals;
}

test('VideoTranscoder turns VP8 into H264 frame for frame, with the input pts and keyframes', async () => {
  const { frames, width, height } = input;
  const out: VideoFrame[] = [];
  const configs: VideoConfig[] = [];
  const failures: string[] = [];
  const transcoder = new VideoTranscoder({
    logger: silentLogger(),
    onFrame: (frame) => out.push(frame),
    onConfig: (config) => configs.push(config),
    onFailed: (reason) => failures.push(reason),
  });
  for (const frame of frames) transcoder.write(vp8Frame(frame, width, height));
  await transcoder.end('test done');

  assert.deepEqual(failures, []);
  assert.equal(transcoder.dropped, 0);
  assert.equal(out.length, frames.length);
  assert.deepEqual(
    out.map((f) => f.ptsUs),
    frames.map((f) => f.ptsUs),
  );
  const inputKeys = frames.flatMap((f, i) => (f.keyframe ? [i] : []));
  const outputKeys = out.flatMap((f, i) => (f.keyframe ? [i] : []));
  assert.equal(inputKeys.length, 5);
  assert.deepEqual(outputKeys, inputKeys);
  assert.equal(configs.length, 1);
  assert.equal(configs[0]!.width, 640);
  assert.equal(configs[0]!.height, 360);
  assert.ok(transcoder.cpuSeconds() > 0);

  // The AVCC frames, back in Annex B after the SPS/PPS, decode without an error at 640x360.
  const annexB = Buffer.concat([
    toAnnexB([...configs[0]!.sps!, ...configs[0]!.pps!]),
    ...out.map((f) => toAnnexB(avccNals(f.data))),
  ]);
  const path = join(dir, 'out.h264');
  await writeFile(path, annexB);
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
  assert.equal(stderr, '');
  const info = await probe(path, true);
  assert.equal(info.streams[0]?.codec_name, 'h264');
  assert.equal(info.streams[0]?.width, 640);
  assert.equal(info.streams[0]?.height, 360);
  assert.equal(info.streams[0]?.nb_read_frames, String(frames.length));
});

test('VideoTranscoder scales down to maxHeight and reports the new size in its config', async () => {
  const { frames, width, height } = input;
  const configs: VideoConfig[] = [];
  const out: VideoFrame[] = [];
  const transcoder = new VideoTranscoder({
    logger: silentLogger(),
    maxHeight: 180,
    onFrame: (frame) => out.push(frame),
    onConfig: (config) => configs.push(config),
    onFailed: (reason) => assert.fail(reason),
  });
  for (const frame of frames.slice(0, 30)) transcoder.write(vp8Frame(frame, width, height));
  await transcoder.end('test done');
  assert.equal(out.length, 30);
  assert.deepEqual(
    configs.map((c) => [c.width, c.height]),
    [[320, 180]],
  );
  assert.equal(out[0]!.width, 320);
});

test('odd-sized VP8 (80x45: the lowest simulcast layer of a 180p camera) transcodes to even H264 (x264 refused it)', async () => {
  const odd = await vp8Input(dir, '80x45', 1);
  const configs: VideoConfig[] = [];
  const out: VideoFrame[] = [];
  const failures: string[] = [];
  const transcoder = new VideoTranscoder({
    logger: silentLogger(),
    onFrame: (frame) => out.push(frame),
    onConfig: (config) => configs.push(config),
    onFailed: (reason) => failures.push(reason),
  });
  for (const frame of odd.frames) transcoder.write(vp8Frame(frame, odd.width, odd.height));
  await transcoder.end('test done');
  assert.deepEqual(failures, []);
  assert.equal(out.length, odd.frames.length);
  // 4:2:0 needs even sizes: the odd row is cropped, never stretched.
  assert.deepEqual(
    configs.map((c) => [c.width, c.height]),
    [[80, 44]],
  );
});

test('VideoTranscoder drops frames before the first keyframe', async () => {
  const { frames, width, height } = input;
  const out: VideoFrame[] = [];
  const transcoder = new VideoTranscoder({
    logger: silentLogger(),
    onFrame: (frame) => out.push(frame),
    onConfig: () => {},
    onFailed: (reason) => assert.fail(reason),
  });
  // From frame 10 on: the first keyframe is input frame 30.
  for (const frame of frames.slice(10, 65)) transcoder.write(vp8Frame(frame, width, height));
  await transcoder.end('test done');
  assert.equal(transcoder.dropped, 20);
  assert.equal(out.length, 35);
  assert.equal(out[0]!.ptsUs, frames[30]!.ptsUs);
  assert.equal(out[0]!.keyframe, true);
});

test('AccessUnitSplitter splits an Annex B stream cut at any byte', () => {
  const aud = Buffer.from([0x09, 0xf0]);
  const sps = Buffer.from([0x67, 0x42, 0x00, 0x1e]);
  const idr = Buffer.from([0x65, 0x88, 0x00, 0x00, 0x03, 0x01]);
  const slice = Buffer.from([0x41, 0x9a, 0x10]);
  const stream = Buffer.concat([toAnnexB([aud, sps, idr]), toAnnexB([aud, slice]), toAnnexB([aud, slice])]);
  for (let cut = 1; cut < stream.length; cut++) {
    const aus: Buffer[][] = [];
    const splitter = new AccessUnitSplitter((nals) => aus.push(nals));
    splitter.push(stream.subarray(0, cut));
    splitter.push(stream.subarray(cut));
    splitter.flush();
    assert.deepEqual(
      aus,
      [
        [aud, sps, idr],
        [aud, slice],
        [aud, slice],
      ],
      `cut at ${cut}`,
    );
  }
});
