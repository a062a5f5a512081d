/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { CHROMIUM_PATH } from '../support/browser.ts';
import type { Firefox } from '../support/firefox.ts';

/** Screenshots of the demo tests (gitignored with test-results/). */
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-results/sdk');

/**
 * Debian's Chromium for the demo page: fake camera and microphone, permission prompts accepted,
 * getDisplayMedia answered with the (virtual) entire screen, and autoplay with sound allowed
 * (a real user clicks Join; an autojoin page has no gesture). `extraArgs`: more Chromium switches
 * (e.g. a test's self-signed TURN server: --ignore-certificate-errors).
 */
export async function launchDemoBrowser(options: { extraArgs?: string[] } = {}): Promise<{
  browser: Browser;
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}`);
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-sdk-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    env: { ...process.env, TMPDIR: userDataDir },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--auto-select-desktop-capture-source=Entire screen',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      // Several call pages share two cores: keep hidden pages running at full speed.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      ...(options.extraArgs ?? []),
    ],
  });
  return {
    browser,
    newContext: () =>
      browser.newContext({ permissions: ['camera', 'microphone'], viewport: { width: 1280, height: 720 } }),
    async close() {
      await browser.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface DemoOptions {
  room: string;
  name: string;
  /** Capture height (the page's ?res=), small by default: several pages share two cores. */
  res?: number;
  simulcast?: boolean;
  /** The camera's codec (the page's ?codec=; VP8 by default). */
  codec?: 'H264' | 'VP8';
  /** False: the page's ?backup=0, no VP8 backup of a camera in another codec. */
  backupCodec?: boolean;
  /** The page's ?relay=1: media only through TURN relays. */
  relay?: boolean;
}

/** The demo page's `/?room&name&autojoin=1` address for `o`. */
export function demoUrl(baseUrl: string, o: DemoOptions): string {
  const query = new URLSearchParams({
    room: o.room,
    name: o.name,
    autojoin: '1',
    res: String(o.res ?? 180),
    ...(o.simulcast === false ? { simulcast: '0' } : {}),
    ...(o.codec ? { codec: o.codec } : {}),
    ...(o.backupCodec === false ? { backup: '0' } : {}),
    ...(o.relay ? { relay: '1' } : {}),
  });
  return `${baseUrl}/?${query}`;
}

/** Opens `/?room&name&autojoin=1` and waits until the page is in the call. */
export async function openDemo(context: BrowserContext, baseUrl: string, o: DemoOptions): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(demoUrl(baseUrl, o));
  try {
    await page.waitForSelector('body[data-state="joined"]', { timeout: 20_000 });
  } catch (err) {
    const lobbyError = await page.textContent('#lobby-error').catch(() => null);
    throw new Error(`${o.name} did not join: ${lobbyError ?? ''} ${errors.join('; ')} (${String(err)})`);
  }
  return page;
}

/** The demo page in a Firefox tab (test/support/firefox.ts), in the call (`body[data-state=joined]`). */
export async function openDemoInFirefox(
  firefox: Firefox,
  baseUrl: string,
  o: DemoOptions,
  /** Run in the page before its own scripts (e.g. recordPeerConnections). */
  init?: () => void,
): Promise<FirefoxPage> {
  const page = await firefox.newPage();
  if (init) await page.evaluateOnNewDocument(init);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(demoUrl(baseUrl, o));
  try {
    await page.waitForSelector('body[data-state="joined"]', { timeout: 20_000 });
  } catch (err) {
    throw new Error(`${o.name} (Firefox) did not join: ${errors.join('; ')} (${String(err)})`);
  }
  return page;
}

export interface TileView {
  name: string;
  participant: string;
  source: string;
  local: boolean;
  muted: boolean;
  hand: boolean;
  /** Highlighted as an active speaker (data-speaking). */
  speaking: boolean;
  /** The connection quality the tile shows (data-quality), 'unknown' before the first report. */
  quality: string;
  /** Whether the tile has its quality indicator element. */
  hasQualityIndicator: boolean;
  /** Why this browser cannot play the tile's track (trackUnsupported), '' when it can. */
  unsupported: string;
  videoWidth: number;
  currentTime: number;
  paused: boolean;
}

/** What the tile helpers need of a page: playwright's (Chromium) and puppeteer's (Firefox) have it. */
export interface ScriptablePage {
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
}

/** Every tile of the page, as the user sees it. */
export function tiles(page: ScriptablePage): Promise<TileView[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('#grid .tile')].map((el) => {
      const e = el as HTMLElement;
      const unsupported = e.querySelector<HTMLElement>('.unsupported');
      const video = e.querySelector('video')!;
      return {
        name: e.dataset.name ?? '',
        participant: e.dataset.participant ?? '',
        source: e.dataset.source ?? '',
        local: e.dataset.local === 'true',
        muted: e.dataset.muted === 'true',
        hand: e.dataset.hand === 'true',
        speaking: e.dataset.speaking === 'true',
        quality: e.dataset.quality ?? '',
        hasQualityIndicator: e.querySelector('.quality') !== null,
        unsupported: unsupported && !unsupported.hidden ? (unsupported.textContent ?? '') : '',
        videoWidth: video.videoWidth,
        currentTime: video.currentTime,
        paused: video.paused,
      };
    }),
  );
}

/** Keeps every RTCPeerConnection the page creates in window.__pcs (runs before the page's scripts). */
export function recordPeerConnections(): void {
  const w = window as unknown as { __pcs: RTCPeerConnection[]; RTCPeerConnection: typeof RTCPeerConnection };
  w.__pcs = [];
  const Native = w.RTCPeerConnection;
  w.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
    }
  };
}

/** Polls `probe` until `ok`, or fails with the last value. */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await probe();
  }
  return last;
}

/**
 * Remote camera tiles of `names` whose video plays: frames decoded (videoWidth > 0) and time
 * advancing between two looks.
 */
export async function seesVideoOf(page: ScriptablePage, names: string[], source = 'camera'): Promise<void> {
  const pick = (all: TileView[]) =>
    names.map((n) => all.find((t) => !t.local && t.name === n && t.source === source));
  const first = await eventually(
    () => tiles(page).then(pick),
    (found) => found.every((t) => t !== undefined && t.videoWidth > 0 && !t.paused),
    `${names.join(', ')} (${source}) playing`,
  );
  await eventually(
    () => tiles(page).then(pick),
    (found) => found.every((t, i) => t !== undefined && t.currentTime > first[i]!.currentTime + 0.3),
    `${names.join(', ')} (${source}) advancing`,
    10_000,
  );
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, name);
  await page.screenshot({ path: file });
  return file;
}

/**
 * A TCP proxy in front of the server, for the browser's HTTP and socket.io traffic (media goes to
 * the SFU's UDP port directly). `dropAll()` cuts every connection, as a network drop or a server
 * closing the socket does: the server sees its socket close, the page sees its transport close.
 */
export async function startProxy(targetPort: number): Promise<{
  port: number;
  url: string;
  dropAll(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dropAll,
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
