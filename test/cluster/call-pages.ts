/// <reference lib="dom" />
import type { BrowserContext, Page } from 'playwright-core';

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
 * When `name`'s video on `page` decodes new frames again after `sinceMs`: the first sample (every
 * 250 ms) that ends two samples in a row in which the frame count grew (a killed node sends nothing
 * more; a tile given a new video element counts from 0 again, which counts as growth once it
 * decoded a frame). Two in a row, at any frame rate: a publisher on a loaded machine may send
 * fewer than 12 frames a second, which is degraded but not frozen. On a timeout the error lists
 * the frames decoded per sample, so that a frozen video and a slow one can be told apart.
 */
export async function framesAdvancingAt(
  page: Page,
  name: string,
  sinceMs: number,
  timeoutMs = 30_000,
): Promise<number> {
  let previous = await framesOf(page, name);
  let growing = 0;
  const deltas: number[] = [];
  while (Date.now() - sinceMs < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = Date.now();
    const frames = await framesOf(page, name);
    const grew = frames > Math.max(previous, 0) || (frames > 0 && frames < previous);
    deltas.push(frames < previous ? frames : frames - Math.max(previous, 0));
    previous = frames;
    // The first half second after the fault may still show frames from the jitter buffer.
    growing = grew && now - sinceMs > 500 ? growing + 1 : 0;
    if (growing >= 2) return now;
  }
  throw new Error(
    `${name}'s video did not decode again within ${timeoutMs} ms; frames decoded per 250 ms: ${deltas.join(' ')}; SDK events: ${JSON.stringify(await events(page).catch(() => null))}; connections: ${await peerConnectionTrace(page, sinceMs)}`,
  );
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

export type PeerConnectionStep = { pc: number; step: string; at: number };

/**
 * Notes every RTCPeerConnection of the context's pages (window.__pcTrace): its creation, each
 * ICE and connection state, each remote description and track, with the time. A failover that
 * took too long then tells which connection waited for what.
 */
export async function tracePeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as {
      __pcTrace: PeerConnectionStep[];
      RTCPeerConnection: typeof RTCPeerConnection;
    };
    w.__pcTrace = [];
    const Native = w.RTCPeerConnection;
    let count = 0;
    w.RTCPeerConnection = class extends Native {
      traceId = ++count;
      constructor(config?: RTCConfiguration) {
        super(config);
        const note = (step: string) => w.__pcTrace.push({ pc: this.traceId, step, at: Date.now() });
        note('created');
        this.addEventListener('iceconnectionstatechange', () => note(`ice ${this.iceConnectionState}`));
        this.addEventListener('connectionstatechange', () => note(`connection ${this.connectionState}`));
        this.addEventListener('track', (e) => note(`track ${e.track.kind}`));
        const setRemote = this.setRemoteDescription.bind(this);
        this.setRemoteDescription = (description: RTCSessionDescriptionInit) => {
          note(`remote ${description.type}`);
          return setRemote(description);
        };
      }
    } as typeof RTCPeerConnection;
  });
}

/** The page's connection steps since `sinceMs`, one line each: `+ms #pc step`. */
export async function peerConnectionTrace(page: Page, sinceMs: number): Promise<string> {
  const steps = await page.evaluate(
    () => (window as unknown as { __pcTrace?: PeerConnectionStep[] }).__pcTrace ?? [],
  );
  return steps
    .filter((s) => s.at >= sinceMs)
    .map((s) => `+${s.at - sinceMs} #${s.pc} ${s.step}`)
    .join('; ');
}
