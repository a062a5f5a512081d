import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { BrowserContext } from 'playwright-core';
import { RoomId } from '../../../src/lib/ids.ts';
import type { EgressInfo } from '../../../src/protocol/egress.ts';
import { eventually, launchDemoBrowser, seesVideoOf } from '../../../test/sdk/demo-page.ts';
import type { TestServer } from '../../../test/support/server.ts';
import { LocalBucket } from '../src/storage/local-bucket.ts';
import { egressApi, hostRoom, publishDemo, startEgressServer } from './support/chromium-call.ts';

/**
 * Egress failures with a real call (issue 14, "what it must show"): an egress whose ffmpeg dies
 * ends with a reason naming ffmpeg while the call goes on and the server is left clean once
 * everyone leaves; a recording goes to the bucket (STORAGE_*) when stopped, and a bucket that does
 * not answer fails the egress with the upload's reason and keeps the local file.
 */

const run = promisify(execFile);

/** The ffmpeg processes this test process started (the in-process server's transcoders). */
async function ffmpegChildren(): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(process.pid), '-x', 'ffmpeg']).catch(() => ({
    stdout: '',
  }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** Every `egressUpdated` of the room, collected until the signal aborts. */
function collectEgressEvents(server: TestServer, roomId: number, signal: AbortSignal): EgressInfo[] {
  const seen: EgressInfo[] = [];
  (async () => {
    for await (const event of server.sfu.events(RoomId(roomId), signal))
      if (event.type === 'egressUpdated') seen.push(event.egress);
  })().catch(() => {
    // The stream ends with an abort when the test is done: nothing to report.
  });
  return seen;
}

describe('egress faults with a Chromium call', { timeout: 300_000 }, () => {
  let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;

  before(async () => {
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    await chromium?.close();
  });

  it("killing an HLS egress's ffmpeg fails that egress with a reason naming ffmpeg; the call goes on; dump() is empty after everyone leaves", async (t) => {
    const server = await startEgressServer();
    const events = new AbortController();
    const contexts: BrowserContext[] = [];
    try {
      const room = await hostRoom(server.baseUrl, 'ffmpeg-kill');
      const updates = collectEgressEvents(server, room.roomId, events.signal);
      contexts.push(await chromium.newContext(), await chromium.newContext());
      const pub = await publishDemo(contexts[0]!, server.baseUrl, {
        room: room.code,
        name: 'Pub',
        codec: 'VP8',
      });
      const sub = await publishDemo(contexts[1]!, server.baseUrl, {
        room: room.code,
        name: 'Sub',
        codec: 'VP8',
      });
      await seesVideoOf(sub.page, ['Pub']);

      const api = egressApi(server.baseUrl, room);
      const hls = await api.start({ kind: 'hls', participantId: pub.participantId });
      await api.waitState(hls.egressId, 'active');
      // VP8 is transcoded to H264 by ffmpeg (and Opus to AAC by another): kill the video one, which
      // the first keyframe started (the egress is active from then; exec may lag the spawn a little).
      const transcoders = await eventually(
        async () => {
          const children = await ffmpegChildren();
          const commands = await Promise.all(
            children.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')),
          );
          return children.map((pid, i) => ({ pid, command: commands[i]! }));
        },
        (list) => list.some((p) => p.command.includes('libx264')),
        'the HLS egress of a VP8 publisher running ffmpeg with libx264',
        5_000,
      );
      const video = transcoders.find((p) => p.command.includes('libx264'))!.pid;
      process.kill(video, 'SIGKILL');

      const failed = await api.waitState(hls.egressId, 'failed');
      t.diagnostic(`reason: ${failed.reason}`);
      assert.match(failed.reason ?? '', /ffmpeg/);
      await eventually(
        async () => updates.filter((u) => u.egressId === hls.egressId).map((u) => u.state),
        (states) => states.at(-1) === 'failed',
        'egressUpdated failed',
      );
      assert.equal(updates.at(-1)?.reason, failed.reason);
      // The call goes on: the subscriber still decodes the publisher's video.
      await seesVideoOf(sub.page, ['Pub']);
      assert.deepEqual(await ffmpegChildren(), [], 'the egress left no ffmpeg behind');

      for (const context of contexts.splice(0)) await context.close();
      const dump = await eventually(
        () => server.sfu.dump(),
        (d) => d.rooms.length === 0,
        'rooms emptied',
      );
      assert.deepEqual(dump.rooms, []);
      assert.deepEqual(dump.egress, [], 'ended egresses are not in the dump');
    } finally {
      events.abort();
      for (const context of contexts) await context.close();
      await server.close();
    }
  });

  describe('recordings to a bucket (STORAGE_*)', () => {
    let bucket: LocalBucket;
    let server: TestServer;

    before(async () => {
      bucket = await LocalBucket.start();
      const { endpoint, bucket: name, accessKeyId, secretAccessKey, region } = bucket.storage;
      server = await startEgressServer({
        STORAGE_ENDPOINT_URL: endpoint,
        STORAGE_BUCKET_NAME: name,
        STORAGE_ACCESS_KEY_ID: accessKeyId,
        STORAGE_SECRET_ACCESS_KEY: secretAccessKey,
        STORAGE_REGION: region,
        STORAGE_FORCE_PATH_STYLE: 'true',
      });
    });

    after(async () => {
      await server?.close();
      await bucket?.dispose();
    });

    it('stopped, a recording is in the bucket with the file’s bytes; with the bucket gone, the egress fails saying the upload failed and the file stays', async (t) => {
      const room = await hostRoom(server.baseUrl, 'bucket');
      const context = await chromium.newContext();
      try {
        const pub = await publishDemo(context, server.baseUrl, {
          room: room.code,
          name: 'Pub',
          codec: 'VP8',
        });
        const api = egressApi(server.baseUrl, room);
        const uploaded = await api.start({ kind: 'recording', participantId: pub.participantId });
        const refused = await api.start({ kind: 'recording', participantId: pub.participantId });
        await api.waitState(uploaded.egressId, 'active');
        await api.waitState(refused.egressId, 'active');
        // A few seconds of media in each file.
        await delay(3_000);

        const done = await api.stop(uploaded.egressId);
        assert.equal(done.state, 'ended', `reason: ${done.reason}`);
        const file = done.files[0]!;
        const local = await readFile(path.join(server.dataDir, 'egress', file));
        assert.ok(local.length > 10_000, `recorded ${local.length} bytes`);
        const stored = await bucket.read(`recordings/${file}`);
        assert.ok(stored, `recordings/${file} in the bucket`);
        assert.ok(stored.equals(local), 'the object has the file’s bytes');

        await bucket.stop();
        const fail = await api.stop(refused.egressId);
        assert.equal(fail.state, 'failed');
        t.diagnostic(`reason: ${fail.reason}`);
        assert.match(fail.reason ?? '', /upload failed/);
        const kept = await readFile(path.join(server.dataDir, 'egress', fail.files[0]!));
        assert.ok(kept.length > 10_000, `the local file stays: ${kept.length} bytes`);
      } finally {
        await context.close();
      }
    });
  });
});
