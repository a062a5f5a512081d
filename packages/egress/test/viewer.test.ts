import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchChromium } from '../../../test/support/browser.ts';
import { serveViewer } from '../src/viewer/serve.ts';

/**
 * The egress viewer page (packages/egress/src/viewer) in Chromium, playing a real CMAF HLS stream
 * made by ffmpeg (H264 + AAC, fMP4 segments) from another origin with CORS, as a node's egress
 * root or a bucket would serve it: the video plays, frames are decoded, audio is decoded, and the
 * page's CSP lets all of it through.
 */

const run = promisify(execFile);

/** Screenshots of the egress tests (gitignored with test-results/). */
const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-results/egress');

const TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
};

async function listen(handler: RequestListener): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** 10 s of test pattern and tone as CMAF HLS (2 s segments) with a master playlist. */
async function makeStream(dir: string): Promise<void> {
  await run(
    'ffmpeg',
    [
      ['-hide_banner', '-loglevel', 'error'],
      ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
      ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ['-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p'],
      ['-c:a', 'aac', '-b:a', '64k'],
      ['-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_playlist_type', 'vod'],
      ['-master_pl_name', 'master.m3u8', path.join(dir, 'stream.m3u8')],
    ].flat(),
    { timeout: 60_000 },
  );
}

/**
 * A live stream: ffmpeg in real time (-re) writing 1 s CMAF segments with program date-times into
 * a sliding playlist, for `seconds`. The caller ends it.
 */
function startLiveStream(dir: string, seconds: number): ChildProcess {
  const args = [
    ['-hide_banner', '-loglevel', 'error', '-re'],
    ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
    ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p'],
    ['-c:a', 'aac', '-b:a', '64k'],
    ['-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_segment_type', 'fmp4'],
    ['-hls_flags', 'delete_segments+program_date_time', '-hls_fmp4_init_filename', 'live-init.mp4'],
    ['-hls_segment_filename', path.join(dir, 'live-%d.m4s')],
    ['-master_pl_name', 'live-master.m3u8', path.join(dir, 'live.m3u8')],
  ].flat();
  return spawn('ffmpeg', args, { stdio: 'ignore' });
}

interface Playback {
  state: string;
  currentTime: number;
  decodedFrames: number;
  audioBytes: number;
  audioInfo: string;
}

function playback(page: Page): Promise<Playback> {
  return page.evaluate(() => {
    const video = document.querySelector('video') as HTMLVideoElement & {
      webkitAudioDecodedByteCount: number;
    };
    const q = video.getVideoPlaybackQuality();
    return {
      state: document.body.dataset.state ?? '',
      currentTime: video.currentTime,
      decodedFrames: q.totalVideoFrames - q.droppedVideoFrames,
      audioBytes: video.webkitAudioDecodedByteCount,
      audioInfo: document.getElementById('audio-info')?.textContent ?? '',
    };
  });
}

describe('egress viewer page (hls.js) in Chromium', { timeout: 120_000 }, () => {
  let dir: string;
  let media: { server: Server; base: string };
  let viewer: { server: Server; base: string };
  let chromium: Awaited<ReturnType<typeof launchChromium>>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-viewer-'));
    await makeStream(dir);
    // The stream on another origin, with CORS, as a node's egress root or a bucket serves it.
    media = await listen((req, res) => {
      const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname);
      readFile(path.join(dir, name)).then(
        (data) => {
          res.writeHead(200, {
            'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream',
            'access-control-allow-origin': '*',
          });
          res.end(data);
        },
        () => res.writeHead(404, { 'access-control-allow-origin': '*' }).end(),
      );
    });
    viewer = await listen((req, res) => {
      if (!serveViewer(req, res)) res.writeHead(404).end();
    });
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    for (const s of [media?.server, viewer?.server]) s?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('?hls= plays the stream: time advances, frames and audio decoded, no CSP violation', async () => {
    const page = await (await chromium.newContext()).newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content[ -]Security[ -]Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (err) => violations.push(err.message));
    const playlist = `${media.base}/master.m3u8`;
    await page.goto(`${viewer.base}/egress/watch.html?hls=${encodeURIComponent(playlist)}`);
    await page.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const first = await playback(page);
    await page.waitForFunction(
      (t0) => (document.querySelector('video') as HTMLVideoElement).currentTime > t0 + 1,
      first.currentTime,
      { timeout: 15_000 },
    );
    const later = await playback(page);
    assert.ok(later.decodedFrames > 25, `frames decoded: ${later.decodedFrames}`);
    assert.ok(later.audioBytes > 0, 'audio decoded');
    // The stats refresh every 500 ms: the audio codec and its decoded bytes show.
    await page.waitForFunction(
      () => /mp4a/.test(document.getElementById('audio-info')?.textContent ?? ''),
      null,
      {
        timeout: 5_000,
      },
    );
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'viewer-hls.png') });
    assert.deepEqual(violations, []);
  });

  it('a live stream: the page shows how far behind the live edge and real time it plays', async () => {
    const ffmpeg = startLiveStream(dir, 40);
    try {
      const page = await (await chromium.newContext()).newPage();
      const playlist = `${media.base}/live-master.m3u8`;
      // The page retries while ffmpeg has not written the playlist yet.
      await page.goto(`${viewer.base}/egress/watch.html?hls=${encodeURIComponent(playlist)}`);
      await page.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
      const shown = await page.waitForFunction(
        () => {
          const text = (id: string) => document.getElementById(id)?.textContent ?? '';
          const seconds = /^(\d+\.\d+) s$/;
          return seconds.test(text('latency')) && seconds.test(text('delay'))
            ? { latency: Number.parseFloat(text('latency')), delay: Number.parseFloat(text('delay')) }
            : null;
        },
        null,
        { timeout: 15_000 },
      );
      const { latency, delay } = (await shown.jsonValue())!;
      // Behind the edge, never ahead of it; the segments are written after they happen, so real
      // time is at least as far (give or take the playlist's date-time rounding).
      assert.ok(Number.isFinite(latency) && latency > 0, `latency to the live edge ${latency} s`);
      assert.ok(delay >= latency - 1, `behind real time ${delay} s, behind the edge ${latency} s`);
      const t0 = (await playback(page)).currentTime;
      await page.waitForFunction(
        (t) => (document.querySelector('video') as HTMLVideoElement).currentTime > t + 1,
        t0,
        {
          timeout: 15_000,
        },
      );
    } finally {
      ffmpeg.kill('SIGTERM');
    }
  });

  it('?moq=&path= links to the MoQ player with the endpoint and the broadcast', async () => {
    const page = await (await chromium.newContext()).newPage();
    const query = new URLSearchParams({ moq: 'ws://127.0.0.1:1/egress/moq', path: '7/room' });
    await page.goto(`${viewer.base}/egress/watch.html?${query}`);
    await page.waitForSelector('#moq:not([hidden])');
    const href = new URL(await page.getAttribute('#moq-link', 'href').then(String));
    assert.equal(href.pathname, '/egress/moq-watch.html');
    assert.equal(href.searchParams.get('url'), 'ws://127.0.0.1:1/egress/moq');
    assert.equal(href.searchParams.get('path'), '7/room');
    assert.equal(await page.isHidden('video'), true, 'nothing to play as HLS');
  });
});
