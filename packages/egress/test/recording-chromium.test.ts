import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { launchDemoBrowser } from '../../../test/sdk/demo-page.ts';
import type { TestServer } from '../../../test/support/server.ts';
import { probe } from './ffmpeg-probe.ts';
import { egressApi, hostRoom, publishDemo, startEgressServer } from './support/chromium-call.ts';
import { decodeErrors, streamSpans } from './support/recording-checks.ts';

/**
 * Recordings of a real publisher (issue 14, "what it must show"): Chromium's demo page publishes
 * its fake camera and microphone, the room's host records that participant for 20 s over REST,
 * and the file is what a player needs: 20 s ± 1 s long, audio and video both there and within
 * 100 ms of each other, every frame decoding without an error.
 */

const RECORD_MS = 20_000;

describe('recordings of a Chromium publisher', { timeout: 300_000 }, () => {
  let server: TestServer;
  let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;

  before(async () => {
    server = await startEgressServer();
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  for (const { codec, ext, video } of [
    { codec: 'VP8', ext: '.webm', video: 'vp8' },
    { codec: 'H264', ext: '.mp4', video: 'h264' },
  ] as const) {
    it(`${codec} → ${ext}: recorded 20 s, the file lasts 20 s ± 1 s, A/V within 100 ms, every frame decodes`, async (t) => {
      const room = await hostRoom(server.baseUrl, `rec-${video}`);
      const context = await chromium.newContext();
      try {
        const { participantId } = await publishDemo(context, server.baseUrl, {
          room: room.code,
          name: 'Pub',
          codec,
        });
        const api = egressApi(server.baseUrl, room);
        const started = await api.start({ kind: 'recording', participantId });
        await delay(RECORD_MS);
        const stopped = await api.stop(started.egressId);
        assert.equal(stopped.state, 'ended', `reason: ${stopped.reason}`);
        assert.equal(stopped.files.length, 1, JSON.stringify(stopped.files));
        const file = path.join(server.dataDir, 'egress', stopped.files[0]!);
        assert.equal(path.extname(file), ext);

        const probed = await probe(file);
        const duration = Number(probed.format.duration);
        assert.ok(Math.abs(duration - RECORD_MS / 1000) <= 1, `duration ${duration} s`);
        const spans = await streamSpans(file);
        assert.equal(spans.video.codec, video);
        assert.equal(spans.audio.codec, 'opus');
        const startGap = Math.abs(spans.video.start - spans.audio.start);
        const endGap = Math.abs(spans.video.end - spans.audio.end);
        assert.ok(startGap <= 0.1, `audio and video start apart: ${JSON.stringify(spans)}`);
        assert.ok(endGap <= 0.1, `audio and video end apart: ${JSON.stringify(spans)}`);
        t.diagnostic(`duration ${duration} s, spans ${JSON.stringify(spans)}`);
        assert.equal(await decodeErrors(file), '', 'every frame decodes');
        // A camera at 20 fps or more: hundreds of frames in 20 s.
        assert.ok(spans.video.packets > 300, `video frames ${spans.video.packets}`);

        // The reply's URL serves the same file.
        const served = await fetch(stopped.urls[0]!);
        assert.equal(served.status, 200);
        assert.equal((await served.arrayBuffer()).byteLength, (await stat(file)).size);
      } finally {
        await context.close();
      }
    });
  }
});
