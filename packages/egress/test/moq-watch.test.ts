/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../src/lib/logger.ts';
import { launchDemoBrowser } from '../../../test/sdk/demo-page.ts';
import type { VideoFrame } from '../src/media/frame.ts';
import type { MoqBroadcast } from '../src/moq/moq-broadcast.ts';
import { MoqServer } from '../src/moq/moq-server.ts';
import { serveWatchPage } from '../src/moq/watch-http.ts';
import { encodeTestVideo } from './media-files.ts';
import { buildWatchPages, waitAdvancing } from './moq-player.ts';

/** Plays frames into a broadcast at their timestamps, looping the clip, until stopped. */
function playRealTime(broadcast: MoqBroadcast, frames: VideoFrame[]): () => void {
  const clipUs = frames.at(-1)!.ptsUs + (frames[1]!.ptsUs - frames[0]!.ptsUs);
  const startedAt = performance.now();
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const nowUs = (performance.now() - startedAt) * 1000;
    for (;;) {
      const frame = frames[index % frames.length]!;
      const ptsUs = frame.ptsUs + Math.floor(index / frames.length) * clipUs;
      if (ptsUs > nowUs) break;
      broadcast.write({ ...frame, ptsUs });
      index++;
    }
    timer = setTimeout(tick, 10);
  };
  tick();
  return () => clearTimeout(timer);
}

describe('MoQ watch page in Chromium', { timeout: 180_000 }, () => {
  let dir: string;
  let http: Server;
  let moq: MoqServer;
  let baseUrl: string;
  let browser: Awaited<ReturnType<typeof launchDemoBrowser>>;

  before(async () => {
    await buildWatchPages();
    dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-moq-'));
    const logger = silentLogger();
    moq = new MoqServer({ logger });
    http = createServer((req, res) => {
      if (!serveWatchPage(req, res, logger)) res.writeHead(404).end();
    });
    http.on('upgrade', (req, socket, head) => {
      if (!moq.upgrade(req, socket, head)) socket.destroy();
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    browser = await launchDemoBrowser();
  });

  after(async () => {
    await browser?.close();
    await moq?.close();
    http?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const codec of ['vp8', 'h264'] as const) {
    it(`shows a ${codec} broadcast with frames advancing, and survives a viewer closing its tab`, async () => {
      const frames = await encodeTestVideo(dir, codec, 10);
      const broadcast = moq.createBroadcast(`room-${codec}/alice`);
      const stop = playRealTime(broadcast, frames);
      const context = await browser.newContext();
      try {
        const errors: string[] = [];
        const watch = `${baseUrl}/egress/moq-watch.html?path=room-${codec}/alice`;
        const first = await context.newPage();
        first.on('pageerror', (err) => errors.push(err.message));
        await first.goto(watch);
        const playing = await waitAdvancing(first, { frames: 0, digest: '' });

        const second = await context.newPage();
        await second.goto(watch);
        await waitAdvancing(second, { frames: 0, digest: '' });
        await second.close();

        // The server still serves the first viewer, and a new one, after the tab went away.
        await waitAdvancing(first, playing);
        const third = await context.newPage();
        await third.goto(watch);
        await waitAdvancing(third, { frames: 0, digest: '' });
        assert.deepEqual(errors, []);
        assert.equal(broadcast.stats().viewers >= 2, true);
      } finally {
        stop();
        await context.close();
        await broadcast.end('stopped');
      }
    });
  }
});
