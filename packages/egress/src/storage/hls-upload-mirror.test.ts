import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import { HlsUploadMirror } from './hls-upload-mirror.ts';
import { type BucketEvent, LocalBucket } from './local-bucket.ts';
import { playlistReferences } from './playlist-references.ts';
import { S3Uploader } from './s3-uploader.ts';

const PREFIX = 'room-1/participant-7/';
let dir: string;
let bucket: LocalBucket;
let uploader: S3Uploader;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bbmeet-hls-'));
  await mkdir(join(dir, 'video'));
  bucket = await LocalBucket.start();
  uploader = new S3Uploader({
    storage: bucket.storage,
    logger: silentLogger(),
    retry: { tries: 2, baseDelayMs: 5 },
  });
});
afterEach(async () => {
  uploader.close();
  await bucket.dispose();
  await rm(dir, { recursive: true, force: true });
});

function mirror(windowSegments: number, concurrency = 4): HlsUploadMirror {
  return new HlsUploadMirror({
    uploader,
    logger: silentLogger(),
    localDir: dir,
    keyPrefix: PREFIX,
    windowSegments,
    concurrency,
  });
}

function mediaPlaylist(first: number, last: number): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${first}`];
  lines.push('#EXT-X-MAP:URI="init.mp4"');
  for (let n = first; n <= last; n++) lines.push('#EXTINF:2.000,', `seg_${n}.m4s`);
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_${last + 1}.0.m4s"`);
  return `${lines.join('\n')}\n`;
}

/** Writes and reports an init segment, a first segment and the playlist naming them. */
async function writeFirstSegment(hls: HlsUploadMirror): Promise<void> {
  await writeFile(join(dir, 'video/init.mp4'), randomBytes(100));
  await writeFile(join(dir, 'video/seg_1.m4s'), randomBytes(100));
  await writeFile(join(dir, 'video/index.m3u8'), mediaPlaylist(1, 1));
  hls.onFile('video/init.mp4', 'init');
  hls.onFile('video/seg_1.m4s', 'segment');
  hls.onFile('video/index.m3u8', 'playlist');
}

const MASTER = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000000,CODECS="avc1.42e01f"\nvideo/index.m3u8\n';

/**
 * Replays what the bucket saw and checks, at each step, that every playlist put names only objects
 * then in the bucket, and that no object is deleted while a playlist in the bucket names it.
 * Returns the keys in the bucket at the end.
 */
function replay(events: BucketEvent[]): Set<string> {
  const present = new Set<string>();
  const playlists = new Map<string, string[]>();
  for (const event of events) {
    if (event.type === 'delete') {
      for (const [key, refs] of playlists)
        assert.ok(!refs.includes(event.key), `${event.key} deleted while ${key} names it`);
      present.delete(event.key);
      continue;
    }
    if (event.playlist !== undefined) {
      const refs = playlistReferences(event.playlist, event.key);
      for (const ref of refs)
        assert.ok(present.has(ref), `${event.key} put naming ${ref} before it was in the bucket`);
      playlists.set(event.key, refs);
    }
    present.add(event.key);
  }
  return present;
}

test('hlsUploadMirror puts segments before the playlists naming them, and the master last', async () => {
  const hls = mirror(3);
  // The master is written first, before any rendition exists: it must wait for them.
  await writeFile(join(dir, 'master.m3u8'), MASTER);
  hls.onFile(join(dir, 'master.m3u8'), 'playlist');
  await writeFile(join(dir, 'video/init.mp4'), randomBytes(2000));
  hls.onFile(join(dir, 'video/init.mp4'), 'init');
  for (let n = 1; n <= 6; n++) {
    // Big segments and tiny playlists: without ordering the playlist would land first.
    await writeFile(join(dir, `video/seg_${n}.m4s`), randomBytes(512 * 1024));
    hls.onFile(join(dir, `video/seg_${n}.m4s`), 'segment');
    await writeFile(join(dir, 'video/index.m3u8'), mediaPlaylist(Math.max(1, n - 2), n));
    hls.onFile('video/index.m3u8', 'playlist');
    if (n > 3) {
      await unlink(join(dir, `video/seg_${n - 3}.m4s`));
      hls.onDeleted(`video/seg_${n - 3}.m4s`);
    }
  }
  await hls.flush();
  const keys = [...replay(bucket.events.map((e) => ({ ...e, key: e.key.slice(PREFIX.length) })))].sort();
  assert.deepEqual(keys, [
    'master.m3u8',
    'video/index.m3u8',
    'video/init.mp4',
    'video/seg_4.m4s',
    'video/seg_5.m4s',
    'video/seg_6.m4s',
  ]);
  assert.equal((await bucket.read(`${PREFIX}video/index.m3u8`))?.toString(), mediaPlaylist(4, 6));
  assert.equal(await bucket.read(`${PREFIX}video/seg_1.m4s`), null);
  const masterUrl = hls.urlOf('master.m3u8');
  assert.equal(masterUrl, `${bucket.storage.endpoint}/egress/${PREFIX}master.m3u8`);
  const res = await fetch(masterUrl);
  assert.equal(res.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  assert.equal(await res.text(), MASTER);
  await hls.close();
});

test('hlsUploadMirror drops and counts queued segments that left the window before their upload', async () => {
  const hls = mirror(2, 1);
  for (let n = 1; n <= 6; n++) {
    await writeFile(join(dir, `video/seg_${n}.m4s`), randomBytes(1000));
  }
  // All reported before any upload ends: seg_1 runs, seg_2…seg_4 are two or more segments behind.
  for (let n = 1; n <= 6; n++) hls.onFile(`video/seg_${n}.m4s`, 'segment');
  await hls.flush();
  assert.equal(uploader.stats().dropped, 3);
  const put = bucket.events.filter((e) => e.type === 'put').map((e) => e.key.slice(PREFIX.length));
  assert.deepEqual(put, ['video/seg_1.m4s', 'video/seg_5.m4s', 'video/seg_6.m4s']);
});

test("hlsUploadMirror counts the window per playlist: a stream's audio segments beside its video are not dropped as stale", async () => {
  const hls = mirror(2, 1);
  const files = ['video/seg_1.m4s', 'audio-opus/seg_1.m4s', 'audio-aac/seg_1.m4s'];
  files.push('video/seg_2.m4s', 'audio-opus/seg_2.m4s', 'audio-aac/seg_2.m4s');
  await mkdir(join(dir, 'audio-opus'));
  await mkdir(join(dir, 'audio-aac'));
  for (const file of files) await writeFile(join(dir, file), randomBytes(1000));
  // All reported before any upload ends: each playlist is at most one segment past any of its own.
  for (const file of files) hls.onFile(file, 'segment');
  await hls.flush();
  assert.equal(uploader.stats().dropped, 0);
  const put = bucket.events.filter((e) => e.type === 'put').map((e) => e.key.slice(PREFIX.length));
  assert.deepEqual(put, files);
});

test('hlsUploadMirror sends again a dropped segment that a playlist still names, so that playlist is not held forever', async () => {
  const hls = mirror(2, 1);
  await writeFile(join(dir, 'video/init.mp4'), randomBytes(100));
  for (let n = 1; n <= 6; n++) await writeFile(join(dir, `video/seg_${n}.m4s`), randomBytes(1000));
  hls.onFile('video/init.mp4', 'init');
  // A burst: seg_2…seg_4 are dropped as two or more segments behind when their turn comes.
  for (let n = 1; n <= 6; n++) hls.onFile(`video/seg_${n}.m4s`, 'segment');
  // The writer's playlist (its window is 3 here) still names seg_4: the last version must go up.
  await writeFile(join(dir, 'video/index.m3u8'), `${mediaPlaylist(4, 6)}#EXT-X-ENDLIST\n`);
  hls.onFile('video/index.m3u8', 'playlist');
  await hls.flush();
  assert.equal(
    (await bucket.read(`${PREFIX}video/index.m3u8`))?.toString(),
    `${mediaPlaylist(4, 6)}#EXT-X-ENDLIST\n`,
  );
  assert.ok(await bucket.read(`${PREFIX}video/seg_4.m4s`));
  assert.equal(await bucket.read(`${PREFIX}video/seg_3.m4s`), null, 'named by no playlist: stays dropped');
  replay(bucket.events.map((e) => ({ ...e, key: e.key.slice(PREFIX.length) })));
});

test('hlsUploadMirror with the bucket unreachable reports and counts the errors and never publishes the playlist', async () => {
  const failures: string[] = [];
  const hls = new HlsUploadMirror({
    uploader,
    logger: silentLogger(),
    localDir: dir,
    keyPrefix: PREFIX,
    windowSegments: 3,
    onFailed: (reason) => failures.push(reason),
  });
  await bucket.stop();
  await writeFirstSegment(hls);
  await hls.close();
  assert.equal(uploader.stats().errors, 2);
  // The init segment and the first segment go up side by side: either may fail first.
  assert.deepEqual(
    failures
      .map(
        (f) =>
          f.match(
            /^upload of room-1\/participant-7\/video\/(\S+) to bucket egress failed: ECONNREFUSED/,
          )?.[1],
      )
      .sort(),
    ['init.mp4', 'seg_1.m4s'],
  );
  assert.equal(uploader.stats().uploadedObjects, 0);
  assert.equal(uploader.stats().retries, 2);
});

test('a segment deleted locally while the playlist naming it is being put stays in the bucket', async () => {
  const gate = Promise.withResolvers<void>();
  const playlistPutStarted = Promise.withResolvers<void>();
  const slowPlaylists = new (class extends S3Uploader {
    override async putBytes(...args: Parameters<S3Uploader['putBytes']>) {
      playlistPutStarted.resolve();
      await gate.promise;
      return super.putBytes(...args);
    }
  })({ storage: bucket.storage, logger: silentLogger() });
  const hls = new HlsUploadMirror({
    uploader: slowPlaylists,
    logger: silentLogger(),
    localDir: dir,
    keyPrefix: PREFIX,
    windowSegments: 3,
  });
  await writeFirstSegment(hls);
  await playlistPutStarted.promise;
  hls.onDeleted('video/seg_1.m4s');
  gate.resolve();
  await hls.close();
  slowPlaylists.close();
  assert.ok(await bucket.read(`${PREFIX}video/seg_1.m4s`), 'the playlist in the bucket names it');
  assert.deepEqual(
    bucket.events.filter((e) => e.type === 'delete'),
    [],
  );
});
