import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../../src/lib/logger.ts';
import type { MediaFrame } from '../media/frame.ts';
import { LocalBucket } from '../storage/local-bucket.ts';
import { S3Uploader } from '../storage/s3-uploader.ts';
import { h264Fixture, interleave, opusFixture } from '../testing/fixtures.ts';
import { openBucketHlsOutput } from '../testing/hls-output.ts';
import type { PublisherOutput } from './publisher-output.ts';
import { RoomHls } from './room-hls.ts';

/**
 * A room's HLS master playlist with STORAGE_* set: two participants' HLS outputs (ffmpeg-made H264
 * and Opus) and the room's master, on disk and in a local S3-compatible bucket.
 */

const SECONDS = 4;
const EGRESS = 'eg-1';

/** The participant directories a room master lists (first segment of each variant URI). */
function listed(text: string): string[] {
  return [
    ...new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split('/')[0]!),
    ),
  ];
}

describe("a room's HLS master playlist, on disk and in the bucket", () => {
  let frames: MediaFrame[];
  let dataDir: string;
  let bucket: LocalBucket;
  let uploader: S3Uploader;

  before(async () => {
    const [video, opus] = await Promise.all([
      h264Fixture({ seconds: SECONDS }),
      opusFixture({ seconds: SECONDS }),
    ]);
    frames = interleave(video.frames, opus);
    dataDir = await mkdtemp(join(tmpdir(), 'room-hls-'));
    bucket = await LocalBucket.start();
    uploader = new S3Uploader({
      storage: bucket.storage,
      logger: silentLogger(),
      retry: { tries: 2, baseDelayMs: 5 },
    });
  });

  after(async () => {
    uploader?.close();
    await bucket?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists each participant once its master is written, drops a leaver, and goes up after the masters it names', async () => {
    const failures: string[] = [];
    const room = new RoomHls({
      egressId: EGRESS,
      dataDir,
      logger: silentLogger(),
      uploader,
      onFailed: (reason) => failures.push(reason),
    });
    const open = (id: string): Promise<PublisherOutput> =>
      openBucketHlsOutput({
        dir: join(dataDir, EGRESS, id),
        relativeDir: `${EGRESS}/${id}`,
        storage: bucket.storage,
        uploader,
        onFailed: (reason) => failures.push(reason),
        roomMaster: room.participant(id),
      });
    const [p7, p8] = await Promise.all([open('p-7'), open('p-8')]);
    assert.equal(room.outputs([]).playlist, null, 'nobody streamed yet: no playlist');
    assert.equal(room.outputs([p7.outputs()]).playlist, `${EGRESS}/master.m3u8`);
    for (const f of frames) {
      p7.write(f);
      p8.write(f);
    }
    // Both listed once their own masters are written (in the order they were added).
    const deadline = Date.now() + 10_000;
    const roomFile = join(dataDir, EGRESS, 'master.m3u8');
    let both: string[] = [];
    while (both.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      both = listed(await readFile(roomFile, 'utf8').catch(() => ''));
    }
    assert.deepEqual(both, ['p-7', 'p-8']);
    // p-8 leaves: dropped from the room master, its stream ends (its last master does not bring it back).
    room.remove('p-8');
    await Promise.all([p7.end('stopped'), p8.end('participant_left')]);
    await room.end();
    assert.deepEqual(failures, []);

    const local = await readFile(roomFile, 'utf8');
    assert.deepEqual(listed(local), ['p-7']);
    const stored = await bucket.read(`hls/${EGRESS}/master.m3u8`);
    assert.equal(stored?.toString(), local, "the bucket's copy is the last version written");

    // Every version put named only participants whose master was already in the bucket.
    const present = new Set<string>();
    let versions = 0;
    for (const e of bucket.events) {
      if (e.type !== 'put') continue;
      if (e.key === `hls/${EGRESS}/master.m3u8`) {
        versions++;
        for (const id of listed(e.playlist ?? ''))
          assert.ok(present.has(id), `room master named ${id} too early`);
      }
      const own = /^hls\/eg-1\/([^/]+)\/master\.m3u8$/.exec(e.key);
      if (own) present.add(own[1]!);
    }
    assert.ok(versions >= 1);

    const outputs = room.outputs([p7.outputs(), p8.outputs()]);
    assert.deepEqual(outputs.files, [
      `${bucket.storage.endpoint}/egress/hls/${EGRESS}/master.m3u8`,
      `${EGRESS}/p-7/master.m3u8`,
      `${bucket.storage.endpoint}/egress/hls/${EGRESS}/p-7/master.m3u8`,
      `${EGRESS}/p-8/master.m3u8`,
      `${bucket.storage.endpoint}/egress/hls/${EGRESS}/p-8/master.m3u8`,
    ]);
  });
});
