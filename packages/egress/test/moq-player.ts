/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';

/** packages/egress, whose `npm run build` bundles the MoQ watch page into dist/. */
export const EGRESS_DIR = path.resolve(import.meta.dirname, '..');

/** Builds the watch pages' bundles (dist/moq-watch.js, dist/watch.js): about a second with esbuild. */
export async function buildWatchPages(): Promise<void> {
  await promisify(execFile)('npm', ['--prefix', EGRESS_DIR, 'run', 'build']);
}

export interface PlayerSample {
  frames: number;
  digest: string;
}

/** What the page's <moq-watch> shows: frames decoded so far and a digest of its canvas. */
export async function samplePlayer(page: Page): Promise<PlayerSample> {
  return page.evaluate(() => {
    type Watch = HTMLElement & { video: { out: { stats: { peek(): { frameCount: number } | undefined } } } };
    const watch = document.querySelector('moq-watch') as Watch;
    const canvas = watch.querySelector('canvas')!;
    const copy = document.createElement('canvas');
    copy.width = 64;
    copy.height = 48;
    const context = copy.getContext('2d')!;
    context.drawImage(canvas, 0, 0, 64, 48);
    const pixels = context.getImageData(0, 0, 64, 48).data;
    let digest = 0;
    for (let i = 0; i < pixels.length; i++) digest = (digest * 31 + pixels[i]!) >>> 0;
    return {
      frames: watch.video.out.stats.peek()?.frameCount ?? 0,
      digest: `${canvas.width}x${canvas.height}:${digest}`,
    };
  });
}

/** Waits (bounded) until the player decoded more than `after.frames + 5` frames and shows another picture. */
export async function waitAdvancing(
  page: Page,
  after: PlayerSample,
  timeoutMs = 20_000,
): Promise<PlayerSample> {
  const deadline = Date.now() + timeoutMs;
  let last = after;
  while (Date.now() < deadline) {
    last = await samplePlayer(page);
    if (last.frames > after.frames + 5 && last.digest !== after.digest && !last.digest.startsWith('0x0'))
      return last;
    await page.waitForTimeout(250);
  }
  assert.fail(`the player did not advance: before ${JSON.stringify(after)}, now ${JSON.stringify(last)}`);
}
