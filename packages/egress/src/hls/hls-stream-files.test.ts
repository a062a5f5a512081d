import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { MediaFrame } from '../media/frame.ts';
import type { HlsFileKind } from '../storage/hls-upload-mirror.ts';
import { playlistReferences } from '../storage/playlist-references.ts';
import { h264Fixture, interleave, opusFixture } from '../testing/fixtures.ts';
import { HlsStream } from './hls-stream.ts';

const SECONDS = 8;

interface FileEvent {
  path: string;
  /** null: deleted. */
  kind: HlsFileKind | null;
  /** A playlist's text when it was reported. */
  text?: string;
}

/** Every file under `dir` (relative paths), temporary files of atomic writes left out. */
function filesUnder(dir: string): string[] {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function kindOfName(path: string): HlsFileKind {
  if (path.endsWith('.m3u8')) return 'playlist';
  if (path.endsWith('init.mp4')) return 'init';
  return path.split('/').pop()!.startsWith('seg-') ? 'segment' : 'part';
}

describe('HlsStream file listener', () => {
  let frames: MediaFrame[];
  let dir: string;
  const events: FileEvent[] = [];

  before(async () => {
    const [video, opus] = await Promise.all([
      h264Fixture({ seconds: SECONDS }),
      opusFixture({ seconds: SECONDS }),
    ]);
    frames = interleave(video.frames, opus);
    dir = await mkdtemp(join(tmpdir(), 'hls-files-'));
    const stream = new HlsStream({
      dir,
      segmentSeconds: 1,
      partSeconds: 0.5,
      windowSegments: 2,
      tracks: ['video', 'opus'],
      logger: silentLogger(),
      fileListener: {
        onFile(path, kind) {
          // The version this event is about: the next one is written only after this call returns.
          const text = kind === 'playlist' ? readFileSync(join(dir, path), 'utf8') : undefined;
          events.push({ path, kind, ...(text !== undefined && { text }) });
        },
        onDeleted: (path) => events.push({ path, kind: null }),
      },
    });
    for (const frame of frames) stream.write(frame);
    await stream.end('stopped');
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('reports every file on disk at the end with its kind, paths relative to the stream directory', () => {
    const reported = new Map<string, HlsFileKind | null>();
    for (const e of events) reported.set(e.path, e.kind);
    const onDisk = filesUnder(dir);
    assert.ok(onDisk.includes('master.m3u8') && onDisk.includes('video/seg-7.m4s'), onDisk.join());
    for (const path of onDisk) assert.equal(reported.get(path), kindOfName(path), path);
    const present = [...reported].filter(([, kind]) => kind !== null).map(([path]) => path);
    assert.deepEqual(present.sort(), onDisk);
  });

  it('reports each playlist after every file it names, and the last versions with ENDLIST', () => {
    const written = new Set<string>();
    for (const e of events) {
      if (e.kind === null) written.delete(e.path);
      else if (e.kind !== 'playlist') written.add(e.path);
      else {
        for (const ref of playlistReferences(e.text!, e.path))
          assert.ok(written.has(ref), `${e.path} reported naming ${ref} before it`);
        written.add(e.path);
      }
    }
    const last = (path: string) => events.findLast((e) => e.path === path)?.text ?? '';
    assert.match(last('video/index.m3u8'), /#EXT-X-ENDLIST\n$/);
    assert.match(last('audio-opus/index.m3u8'), /#EXT-X-ENDLIST\n$/);
    assert.equal(events.at(-1)?.path, 'master.m3u8');
  });

  it('reports the segments and parts deleted after the window, once gone from disk', () => {
    const deleted = events.filter((e) => e.kind === null).map((e) => e.path);
    // 8 segments, 2 in the playlist and 3 more kept: seg-0, seg-1 and seg-2 of each track went.
    for (const track of ['video', 'audio-opus'])
      for (const msn of [0, 1, 2]) assert.ok(deleted.includes(`${track}/seg-${msn}.m4s`), `${track} ${msn}`);
    assert.ok(deleted.includes('video/part-0.0.m4s'));
    const onDisk = new Set(filesUnder(dir));
    for (const path of deleted) assert.ok(!onDisk.has(path), path);
    assert.ok(!deleted.includes('video/seg-3.m4s'));
  });
});
