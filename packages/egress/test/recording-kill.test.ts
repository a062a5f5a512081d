import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ffmpeg } from '../src/testing/ffmpeg.ts';
import { decodeCounts, probe } from './ffmpeg-probe.ts';

/** The child's frames (15 fps test pattern) before it is killed. */
const FRAMES_BEFORE_KILL = 45;
let dir = '';
let ivf = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recording-kill-'));
  ivf = join(dir, 'source.ivf');
  await ffmpeg([
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '2'],
    ...['-c:v', 'libvpx', '-g', '15', '-f', 'ivf', ivf],
  ]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function recordUntil(target: string, signal: NodeJS.Signals): Promise<void> {
  const child = spawn(
    process.execPath,
    [new URL('./support/record-child.ts', import.meta.url).pathname, ivf, target],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const enough = Promise.withResolvers<void>();
  // Why: stdout is read to the end (a closed pipe would make the child fail on its next write).
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (Math.max(...chunk.match(/\d+/g)!.map(Number)) >= FRAMES_BEFORE_KILL) enough.resolve();
  });
  child.on('exit', () => enough.reject(new Error('the recording process ended on its own')));
  await enough.promise;
  child.kill(signal);
  await once(child, 'exit');
}

describe('a recording when its process ends', () => {
  it('killed (SIGKILL) mid-recording: the WebM plays up to the kill', async () => {
    const target = join(dir, 'killed.webm');
    await recordUntil(target, 'SIGKILL');
    const p = await probe(target);
    assert.equal(p.streams.find((s) => s.codec_type === 'video')?.codec_name, 'vp8');
    const decoded = await decodeCounts(target);
    const other = decoded.errors.split('\n').filter((l) => l !== '' && !l.includes('File ended prematurely'));
    assert.deepEqual(other, []);
    // Writes still queued at the kill are lost: most of what was written plays.
    assert.ok(decoded.videoFrames >= FRAMES_BEFORE_KILL - 10, `${decoded.videoFrames} frames`);
    assert.ok(decoded.audioFrames > 0);
  });

  it('stopped (SIGTERM, the server shutting down): the WebM is closed with its duration and index', async () => {
    const target = join(dir, 'stopped.webm');
    await recordUntil(target, 'SIGTERM');
    const decoded = await decodeCounts(target);
    assert.equal(decoded.errors, '');
    const duration = Number((await probe(target)).format.duration);
    assert.ok(
      Math.abs(duration - decoded.videoFrames / 15) <= 0.1,
      `duration ${duration}, ${decoded.videoFrames} frames`,
    );
  });
});
