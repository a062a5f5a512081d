import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  eventually,
  launchDemoBrowser,
  openDemo,
  screenshot,
  seesVideoOf,
  startProxy,
  tiles,
} from './demo-page.ts';

/**
 * The demo meeting page (`/`) and the browser SDK against the real server: Chromium pages join
 * with `/?room&name&autojoin=1`, publish their fake camera through the SFU and show each other.
 */

const SCREENSHOT_DOC = path.resolve(import.meta.dirname, '../../docs/screenshot-call.png');

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
const contexts: BrowserContext[] = [];

async function newContext(): Promise<BrowserContext> {
  const context = await chromium.newContext();
  contexts.push(context);
  return context;
}

async function closeAll(pages: Page[]): Promise<void> {
  for (const page of pages) await page.context().close();
}

async function chatLines(page: Page): Promise<string[]> {
  return page.$$eval('#chat-list li .text', (els) => els.map((e) => e.textContent ?? ''));
}

async function sendChat(page: Page, text: string): Promise<void> {
  if (await page.isHidden('#chat-panel')) await page.click('#chat');
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
}

describe('demo page and browser SDK', { timeout: 240_000 }, () => {
  before(async () => {
    server = await startTestServer({}, { media: true });
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    await server?.close();
  });

  it('two participants: each sees the other playing, chat arrives, mute shows, leave removes the tile', async () => {
    const alice = await openDemo(await newContext(), server.baseUrl, { room: 'pair', name: 'Alice' });
    const bob = await openDemo(await newContext(), server.baseUrl, { room: 'pair', name: 'Bob' });
    await seesVideoOf(alice, ['Bob']);
    await seesVideoOf(bob, ['Alice']);

    await sendChat(alice, 'hello bob');
    await eventually(
      () => chatLines(bob),
      (lines) => lines.includes('hello bob'),
      'chat at Bob',
    );
    assert.equal(await bob.textContent('#chat-badge'), '1', 'unread badge while the panel is closed');

    await bob.click('#mic');
    await eventually(
      () => tiles(alice),
      (all) => all.some((t) => t.name === 'Bob' && t.muted),
      'Bob muted on Alice’s tile',
    );
    await bob.click('#mic');
    await eventually(
      () => tiles(alice),
      (all) => all.some((t) => t.name === 'Bob' && !t.muted),
      'Bob unmuted on Alice’s tile',
    );

    await bob.click('#leave');
    await bob.waitForSelector('#left:not([hidden])');
    await eventually(
      () => tiles(alice),
      (all) => all.every((t) => t.name !== 'Bob'),
      'Bob’s tile gone at Alice',
    );
    await closeAll([alice, bob]);
  });

  it('three participants: video, chat, mute, hand, screen share tile, leave; screenshots', async () => {
    const names = ['Alice', 'Bob', 'Carol'];
    const pages: Page[] = [];
    for (const name of names) {
      pages.push(await openDemo(await newContext(), server.baseUrl, { room: 'trio', name, res: 360 }));
    }
    const [alice, bob, carol] = pages as [Page, Page, Page];
    for (const [i, page] of pages.entries())
      await seesVideoOf(
        page,
        names.filter((_, j) => j !== i),
      );

    await sendChat(carol, 'hi all');
    for (const page of [alice, bob]) {
      await eventually(
        () => chatLines(page),
        (lines) => lines.includes('hi all'),
        'chat from Carol',
      );
    }

    await bob.click('#mic');
    await bob.click('#hand');
    for (const page of [alice, carol]) {
      await eventually(
        () => tiles(page),
        (all) => all.some((t) => t.name === 'Bob' && t.source === 'camera' && t.muted && t.hand),
        'Bob muted with his hand up',
      );
    }

    await carol.click('#screen');
    await seesVideoOf(alice, ['Carol'], 'screen');
    await seesVideoOf(bob, ['Carol'], 'screen');
    // The screenshot shows the grid with stats, Bob muted with his hand up and Carol's screen.
    await alice.click('#stats');
    await alice.click('#chat');
    await alice.waitForTimeout(1500);
    const shot = await screenshot(alice, 'three-person-call.png');
    await screenshot(bob, 'three-person-call-bob.png');
    await screenshot(carol, 'three-person-call-carol.png');
    if (process.env.BBMEET_UPDATE_SCREENSHOT === '1') await copyFile(shot, SCREENSHOT_DOC);
    const statsText = await alice.textContent('#grid .tile[data-participant] .tile-stats:not([hidden])');
    assert.match(statsText ?? '', /kb\/s|Mb\/s/);

    await carol.click('#screen');
    await eventually(
      () => tiles(alice),
      (all) => all.every((t) => t.source !== 'screen'),
      'Carol’s screen tile gone',
    );

    await carol.click('#leave');
    for (const page of [alice, bob]) {
      await eventually(
        () => tiles(page),
        (all) => all.every((t) => t.name !== 'Carol'),
        'Carol’s tiles gone',
      );
    }
    await seesVideoOf(alice, ['Bob']);
    await closeAll(pages);
  });

  it('reconnects after the connection to the server drops, and the call resumes', async () => {
    const proxy = await startProxy(server.port);
    try {
      const alice = await openDemo(await newContext(), server.baseUrl, { room: 'drop', name: 'Alice' });
      const bob = await openDemo(await newContext(), proxy.url, { room: 'drop', name: 'Bob' });
      await seesVideoOf(alice, ['Bob']);
      await seesVideoOf(bob, ['Alice']);
      const states: string[] = [];
      await bob.exposeFunction('recordState', (s: string) => states.push(s));
      await bob.evaluate(() => {
        const w = window as unknown as {
          bbmeet: { room: { on(e: string, f: (p: { state: string }) => void): void } };
          recordState(s: string): void;
        };
        w.bbmeet.room.on('stateChanged', ({ state }) => w.recordState(state));
      });

      proxy.dropAll();
      await eventually(
        async () => states,
        (s) => s.includes('reconnecting') && s.at(-1) === 'joined',
        'Bob reconnecting, then joined',
      );
      await seesVideoOf(alice, ['Bob']);
      await seesVideoOf(bob, ['Alice']);
      await sendChat(alice, 'you are back');
      await eventually(
        () => chatLines(bob),
        (lines) => lines.includes('you are back'),
        'chat after reconnect',
      );
      assert.equal((await tiles(alice)).filter((t) => t.name === 'Bob').length, 1, 'one tile for Bob');
      await closeAll([alice, bob]);
    } finally {
      await proxy.close();
    }
  });

  it('says so clearly when the server is unreachable or the camera is denied', async () => {
    const proxy = await startProxy(server.port);
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${proxy.url}/?room=gone&name=Dora&res=180`);
    await page.waitForSelector('#preview');
    await proxy.close();
    await page.click('#join');
    await page.waitForSelector('#lobby-error:not([hidden])');
    assert.match((await page.textContent('#lobby-error')) ?? '', /Cannot reach the server/);

    // The user refuses the permission prompt: getUserMedia rejects with NotAllowedError, as
    // Chromium does then (its fake-UI flag would accept the prompt, so the refusal is injected).
    const denied = await newContext();
    const deniedPage = await denied.newPage();
    await deniedPage.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    await deniedPage.goto(`${server.baseUrl}/?room=nocam&name=Eve&res=180`);
    await deniedPage.waitForSelector('#lobby-error:not([hidden])');
    assert.match((await deniedPage.textContent('#lobby-error')) ?? '', /denied/);
    // Joining anyway works: receive-only.
    await deniedPage.click('#join');
    await deniedPage.waitForSelector('body[data-state="joined"]');
  });
});
