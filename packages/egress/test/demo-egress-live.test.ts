/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { eventually, launchDemoBrowser, openDemo, screenshot } from '../../../test/sdk/demo-page.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createEgress } from '../src/index.ts';
import { probe } from './ffmpeg-probe.ts';
import { buildWatchPages, waitAdvancing } from './moq-player.ts';

/**
 * The demo page's host controls (web/egress-controls.ts) against the real egress (issue 14,
 * item 7): "Go live" links a playlist the server serves and a Watch link whose viewer plays it;
 * "Record" then Stop links a file that downloads as a WebM (the demo publishes VP8); "MoQ" links
 * a viewer whose MoQ link opens the MoQ player, which shows the room's video.
 */

const WEBM_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let host: Page;

/** The host's list entry of `kind` in `state`, with its links (waits until it shows). */
async function entry(kind: string, state: string, linkClass?: string) {
  const selector = `#egress-list li[data-kind="${kind}"][data-state="${state}"]`;
  await host.waitForSelector(linkClass ? `${selector} a.${linkClass}` : selector, { timeout: 30_000 });
  return host.$eval(selector, (li) => ({
    id: (li as HTMLElement).dataset.egressId ?? '',
    label: li.querySelector('.egress-label')?.textContent ?? '',
    links: Object.fromEntries([...li.querySelectorAll('a')].map((a) => [a.className, a.href])),
  }));
}

/** The viewer page's video: time and decoded frames. */
function playback(page: Page): Promise<{ state: string; currentTime: number; decodedFrames: number }> {
  return page.evaluate(() => {
    const video = document.querySelector('video') as HTMLVideoElement;
    const q = video.getVideoPlaybackQuality();
    return {
      state: document.body.dataset.state ?? '',
      currentTime: video.currentTime,
      decodedFrames: q.totalVideoFrames - q.droppedVideoFrames,
    };
  });
}

describe('demo page egress controls against the real egress', { timeout: 240_000 }, () => {
  before(async () => {
    await buildWatchPages();
    server = await startTestServer({ EGRESS_ENABLED: 'true' }, { media: true, egress: createEgress });
    chromium = await launchDemoBrowser();
    host = await openDemo(await chromium.newContext(), server.baseUrl, { room: 'live-demo', name: 'Alice' });
    await host.waitForSelector('#egress[data-status="ready"]', { timeout: 15_000 });
  });

  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('go live: the playlist link appears and the watch link opens a viewer that plays it', async () => {
    await host.click('#go-live');
    const live = await entry('hls', 'active', 'playlist');
    const playlist = live.links.playlist!;
    // A room's HLS hands out the room's master playlist (every participant a variant).
    assert.match(playlist, new RegExp(`^${server.baseUrl}/egress/${live.id}/master\\.m3u8$`));
    // The link shows with the first frame; the master playlist follows once every track has a part.
    const served = await eventually(
      () => fetch(playlist),
      (res) => res.status !== 404,
      'the master playlist',
    );
    assert.equal(served.status, 200);
    assert.match(served.headers.get('content-type') ?? '', /mpegurl/i);
    assert.match(await served.text(), /^#EXTM3U/);
    const watch = new URL(live.links.watch!);
    assert.equal(watch.pathname, '/egress/watch.html');
    assert.equal(watch.searchParams.get('hls'), playlist);

    // A user clicks Watch: the viewer opens in a new tab.
    const [viewer] = await Promise.all([
      host.context().waitForEvent('page'),
      host.click(`#egress-list a.watch`),
    ]);
    const errors: string[] = [];
    viewer.on('pageerror', (err) => errors.push(err.message));
    await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const first = await playback(viewer);
    await viewer.waitForFunction(
      (t0) => (document.querySelector('video') as HTMLVideoElement).currentTime > t0 + 1,
      first.currentTime,
      { timeout: 20_000 },
    );
    const later = await playback(viewer);
    assert.ok(later.decodedFrames > first.decodedFrames, `frames decoded: ${JSON.stringify(later)}`);
    assert.deepEqual(errors, []);
    await screenshot(viewer, 'egress-live-viewer.png');
    await viewer.close();

    await host.click(`#egress-list li[data-egress-id="${live.id}"] .egress-stop`);
    const ended = await entry('hls', 'ended');
    assert.match(ended.label, /stopped/);
    assert.equal(await host.isDisabled('#go-live'), false);
  });

  it('record then stop: the file link downloads a WebM', async () => {
    await host.click('#record');
    const rec = await entry('recording', 'active');
    // Record a few seconds of the call (the elapsed clock ticks every second).
    await host.waitForFunction(
      (id) => {
        const text = document.querySelector(`#egress-list li[data-egress-id="${id}"] .elapsed`)?.textContent;
        return text !== undefined && text !== null && text >= '0:05';
      },
      rec.id,
      { timeout: 15_000 },
    );
    await host.click(`#egress-list li[data-egress-id="${rec.id}"] .egress-stop`);
    const done = await entry('recording', 'ended', 'file');
    const file = done.links.file!;
    assert.match(file, new RegExp(`^${server.baseUrl}/egress/${rec.id}/.+\\.webm$`));

    const res = await fetch(file);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(body.subarray(0, 4), WEBM_MAGIC, 'an EBML header');
    const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-demo-rec-'));
    try {
      const local = path.join(dir, 'download.webm');
      await writeFile(local, body);
      const probed = await probe(local);
      assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);
      // The file starts at the first keyframe the egress gets, a second or two after Record.
      assert.ok(Number(probed.format.duration) >= 1, `duration ${probed.format.duration} s`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('moq: the watch link leads to the MoQ player, which shows the video advancing', async () => {
    await host.click('#moq');
    const moq = await entry('moq', 'active', 'watch');
    const [viewer] = await Promise.all([
      host.context().waitForEvent('page'),
      host.click(`#egress-list li[data-egress-id="${moq.id}"] a.watch`),
    ]);
    const errors: string[] = [];
    viewer.on('pageerror', (err) => errors.push(err.message));
    await viewer.waitForSelector('#moq:not([hidden])', { timeout: 15_000 });
    await viewer.click('#moq-link');
    await viewer.waitForURL(/\/egress\/moq-watch\.html\?/);
    const first = await waitAdvancing(viewer, { frames: 0, digest: '' });
    await waitAdvancing(viewer, first);
    assert.deepEqual(errors, []);
    await viewer.close();

    await host.click(`#egress-list li[data-egress-id="${moq.id}"] .egress-stop`);
    const ended = await entry('moq', 'ended');
    assert.match(ended.label, /stopped/);
  });
});
