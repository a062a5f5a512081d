/// <reference lib="dom" />
import type { Page } from 'playwright-core';

/**
 * What the cluster tests read from a demo page in a call: the SDK room's connection events and
 * the decoded frames of a remote camera tile.
 */

export type PageEvent = { type: string; payload: unknown; at: number };

/** Records the SDK room's events in the page (window.__events), with the time they fired. */
export function record(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as {
      bbmeet: { room: { on(type: string, handler: (e: unknown) => void): void } };
      __events: PageEvent[];
    };
    w.__events = [];
    for (const type of ['reconnecting', 'reconnected', 'error'])
      w.bbmeet.room.on(type, (payload) => w.__events.push({ type, payload, at: Date.now() }));
  });
}

export function events(page: Page): Promise<PageEvent[]> {
  return page.evaluate(() => (window as unknown as { __events: PageEvent[] }).__events);
}

/** Decoded frames of `name`'s camera tile on `page` (-1 without such a tile). */
export function framesOf(page: Page, name: string): Promise<number> {
  return page.$$eval(
    '#grid .tile',
    (els, who) => {
      const tile = els.find(
        (el) =>
          (el as HTMLElement).dataset.name === who &&
          (el as HTMLElement).dataset.source === 'camera' &&
          (el as HTMLElement).dataset.local !== 'true',
      );
      const video = tile?.querySelector('video');
      return video ? video.getVideoPlaybackQuality().totalVideoFrames : -1;
    },
    name,
  );
}

/**
 * When `name`'s video on `page` decodes new frames again after `sinceMs`: the first sample at which
 * the frame count grew by at least 3 since the previous sample (a killed node sends nothing more).
 */
export async function framesAdvancingAt(
  page: Page,
  name: string,
  sinceMs: number,
  timeoutMs = 30_000,
): Promise<number> {
  let previous = await framesOf(page, name);
  while (Date.now() - sinceMs < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = Date.now();
    const frames = await framesOf(page, name);
    // The first half second after the fault may still show frames from the jitter buffer.
    if (now - sinceMs > 500 && frames >= 0 && frames - Math.max(previous, 0) >= 3) return now;
    previous = frames;
  }
  throw new Error(`${name}'s video did not decode again within ${timeoutMs} ms`);
}

/**
 * Samples `name`'s decoded frames on `page` every 250 ms until `done` settles; resolves with the
 * longest time the count stood still (a call that never stalled shows about one sample period).
 */
export async function longestFreeze(page: Page, name: string, done: Promise<unknown>): Promise<number> {
  let finished = false;
  const settled = done.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  let last = await framesOf(page, name);
  let lastChange = Date.now();
  let longest = 0;
  while (!finished) {
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 250))]);
    const frames = await framesOf(page, name);
    const now = Date.now();
    if (frames !== last) {
      last = frames;
      lastChange = now;
    }
    longest = Math.max(longest, now - lastChange);
  }
  return longest;
}
