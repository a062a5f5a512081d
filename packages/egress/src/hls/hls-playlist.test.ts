import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AudioFrame } from '../media/frame.ts';
import { HlsTrack, type HlsTrackOptions } from './hls-track.ts';

/** 20 ms Opus frames of arbitrary bytes: the playlist logic does not look inside them. */
function opusFrames(seconds: number): AudioFrame[] {
  return Array.from({ length: Math.round(seconds * 50) }, (_, i) => ({
    kind: 'audio' as const,
    codec: 'opus' as const,
    data: Buffer.alloc(40, i & 0xff),
    ptsUs: i * 20_000,
    samples: 960,
    sampleRate: 48000,
    channels: 2,
  }));
}

async function track(options: Partial<HlsTrackOptions> = {}): Promise<{ track: HlsTrack; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'hls-track-'));
  const t = new HlsTrack(
    { id: 2, kind: 'audio', timescale: 48000, config: { codec: 'opus', sampleRate: 48000, channels: 2 } },
    {
      dir,
      segmentSeconds: 2,
      partSeconds: 0.5,
      windowSegments: 3,
      wallClockAtZeroMs: Date.UTC(2026, 0, 1),
      followsCuts: false,
      onError: (err) => assert.fail(err),
      ...options,
    },
  );
  return { track: t, dir };
}

describe('HLS media playlist', () => {
  it('has the LL-HLS tags: server control, part target, parts and the preload hint', async () => {
    const { track: t } = await track();
    for (const f of opusFrames(2.6)) t.write(f);
    const text = t.playlist();
    assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n/);
    assert.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n/);
    assert.match(text, /#EXT-X-PART-INF:PART-TARGET=0.5\n/);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/);
    assert.match(text, /#EXT-X-MAP:URI="init.mp4"\n/);
    assert.match(text, /#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n/);
    assert.match(text, /#EXT-X-PART:DURATION=0.5,URI="part-0.0.m4s",INDEPENDENT=YES\n/);
    assert.match(text, /#EXTINF:2.0,\nseg-0.m4s\n/);
    assert.match(
      text,
      /#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z\n#EXT-X-PART:DURATION=0.5,URI="part-1.0.m4s",INDEPENDENT=YES\n/,
    );
    assert.match(text, /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-1.1.m4s"\n$/);
    assert.doesNotMatch(text, /ENDLIST/);
    await t.end();
  });

  it('keeps parts only for segments within three target durations of the end', async () => {
    const { track: t } = await track({ windowSegments: 10 });
    for (const f of opusFrames(10.1)) t.write(f);
    const text = t.playlist();
    assert.doesNotMatch(text, /part-[0-1]\./);
    assert.match(text, /part-2\.0\.m4s/);
    assert.match(text, /seg-0.m4s/);
    await t.end();
  });

  it('slides its window and deletes segments and parts after the grace period', async () => {
    const { track: t, dir } = await track({ windowSegments: 3 });
    for (const f of opusFrames(20)) t.write(f);
    await t.end();
    const text = await readFile(join(dir, 'index.m3u8'), 'utf8');
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:7\n/);
    assert.deepEqual(
      [...text.matchAll(/^seg-\d+\.m4s$/gm)].map((m) => m[0]),
      ['seg-7.m4s', 'seg-8.m4s', 'seg-9.m4s'],
    );
    assert.match(text, /#EXT-X-ENDLIST\n$/);
    assert.doesNotMatch(text, /PRELOAD-HINT/);
    const files = await readdir(dir);
    // The window (7-9) and the four segments that left it last (3-6) stay; 0-2 are gone.
    const segments = files
      .filter((f) => f.startsWith('seg-'))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    assert.deepEqual(segments, [
      'seg-3.m4s',
      'seg-4.m4s',
      'seg-5.m4s',
      'seg-6.m4s',
      'seg-7.m4s',
      'seg-8.m4s',
      'seg-9.m4s',
    ]);
    assert.ok(!files.some((f) => /^part-[0-2]\./.test(f)));
    assert.ok(!files.some((f) => f.endsWith('.tmp')));
  });

  it('without parts writes a plain HLS playlist with one fragment per segment', async () => {
    const { track: t, dir } = await track({ partSeconds: 0 });
    for (const f of opusFrames(5)) t.write(f);
    await t.end();
    const text = await readFile(join(dir, 'index.m3u8'), 'utf8');
    assert.match(text, /#EXT-X-VERSION:6\n/);
    assert.doesNotMatch(text, /PART|SERVER-CONTROL|PRELOAD/);
    assert.equal([...text.matchAll(/#EXTINF/g)].length, 3);
    assert.ok(!(await readdir(dir)).some((f) => f.startsWith('part-')));
  });

  it('waiters resolve when the asked part is published, and at end', async () => {
    const { track: t } = await track();
    const frames = opusFrames(3);
    const waited = t.waiters.wait(1, 0, 60_000);
    let resolved = false;
    waited.then(() => {
      resolved = true;
    }, assert.fail);
    for (const f of frames.slice(0, 100)) t.write(f);
    await t.flushed();
    assert.equal(resolved, false);
    for (const f of frames.slice(100, 130)) t.write(f);
    await t.flushed();
    await waited;
    assert.equal(t.waiters.has(5, null), false);
    await t.end();
    assert.equal(t.waiters.has(5, null), true);
  });
});
