import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import { type FfmpegExit, FfmpegProcess } from './ffmpeg-process.ts';
import { readIvf } from './ivf.ts';
import { ffmpegFile } from './test-media.ts';
import { VideoTranscoder } from './video-transcoder.ts';

let dir = '';
let vp8: Buffer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bbmeet-ffmpeg-process-'));
  const ivf = await ffmpegFile(dir, 'in.ivf', [
    ...['-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-t', '2'],
    ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-f', 'ivf'],
  ]);
  vp8 = readIvf(ivf).frames.map((f) => f.data);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** ffmpeg reading raw bytes from stdin (any input is valid) and writing nothing. */
function rawSink(
  onExit: (exit: FfmpegExit) => void,
  extra: Partial<ConstructorParameters<typeof FfmpegProcess>[0]> = {},
) {
  return new FfmpegProcess({
    args: ['-f', 'u8', '-ar', '8000', '-ac', '1', '-i', 'pipe:0', '-f', 'null', '-'],
    onStdout: () => {},
    onExit,
    logger: silentLogger(),
    ...extra,
  });
}

test('killing the ffmpeg of a VideoTranscoder reports the failure within a second', async () => {
  const failed = Promise.withResolvers<string>();
  const transcoder = new VideoTranscoder({
    logger: silentLogger(),
    onFrame: () => {},
    onConfig: () => {},
    onFailed: (reason) => failed.resolve(reason),
  });
  const frame = (i: number) => ({
    kind: 'video' as const,
    codec: 'vp8' as const,
    data: vp8[i]!,
    keyframe: i % 30 === 0,
    ptsUs: i * 33_333,
    width: 320,
    height: 180,
  });
  for (let i = 0; i < 10; i++) transcoder.write(frame(i));
  const killedAt = performance.now();
  process.kill(transcoder.pid!, 'SIGKILL');
  const reason = await withTimeout(failed.promise, 1000, 'onFailed');
  assert.equal(reason, 'ffmpeg killed by SIGKILL');
  assert.ok(performance.now() - killedAt < 1000);
  // Later frames are ignored and ending is still clean.
  for (let i = 10; i < 20; i++) transcoder.write(frame(i));
  await transcoder.end('after the failure');
});

test('a missing ffmpeg binary fails with a reason saying what to install', async () => {
  const exit = Promise.withResolvers<FfmpegExit>();
  rawSink((e) => exit.resolve(e), { binary: 'bbmeet-no-such-ffmpeg' });
  const result = await withTimeout(exit.promise, 5000, 'onExit');
  assert.equal(result.failed, true);
  assert.match(result.reason, /^bbmeet-no-such-ffmpeg not found on PATH: install it/);
});

test('ffmpeg exiting on bad input reports its exit code and last stderr line', async () => {
  const exits: FfmpegExit[] = [];
  const ffmpeg = new FfmpegProcess({
    args: ['-f', 'ivf', '-i', 'pipe:0', '-f', 'null', '-'],
    onStdout: () => {},
    onExit: (e) => exits.push(e),
    logger: silentLogger(),
  });
  ffmpeg.write(Buffer.from('this is not an IVF file, not at all'), true);
  const exit = await ffmpeg.stop();
  assert.equal(exit.failed, true);
  const last = ffmpeg.stderrTail().at(-1);
  assert.ok(last);
  assert.equal(exit.reason, `ffmpeg exited with code 1: ${last}`);
  assert.deepEqual(exits, [exit]);
});

test('a stalled ffmpeg keeps its stdin queue bounded: delta chunks then all chunks are dropped', async () => {
  const exits: FfmpegExit[] = [];
  const limits = { congestionBytes: 256 * 1024, maxQueuedBytes: 1024 * 1024 };
  const ffmpeg = rawSink((e) => exits.push(e), limits);
  process.kill(ffmpeg.pid!, 'SIGSTOP');
  try {
    const chunk = Buffer.alloc(10_000, 0x80);
    let deltas = 0;
    while (ffmpeg.write(chunk, false)) assert.ok(++deltas < 1000);
    // Dependent chunks wait for an independent one, which is taken up to the hard cap.
    assert.equal(ffmpeg.write(chunk, false), false);
    let keys = 0;
    while (ffmpeg.write(chunk, true)) assert.ok(++keys < 1000);
    for (let i = 0; i < 2000; i++) ffmpeg.write(chunk, i % 30 === 0);
    assert.ok(ffmpeg.queuedBytes < limits.maxQueuedBytes + chunk.length, `queued ${ffmpeg.queuedBytes}`);
    assert.ok(ffmpeg.dropped >= 2001);
  } finally {
    process.kill(ffmpeg.pid!, 'SIGCONT');
  }
  const exit = await ffmpeg.stop();
  assert.deepEqual(exit, { failed: false, reason: 'stopped' });
  assert.deepEqual(exits, [exit]);
});
