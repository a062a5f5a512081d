import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { type Firefox, launchFirefox } from '../support/firefox.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  eventually,
  launchDemoBrowser,
  openDemo,
  openDemoInFirefox,
  seesVideoOf,
  tiles,
} from './demo-page.ts';

/**
 * The demo page and the browser SDK in Firefox ESR beside Chromium: a call between the two, and a
 * Chromium camera in H264 without its VP8 backup, which this Firefox cannot decode (no OpenH264
 * plugin offline).
 */

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let firefox: Firefox;

describe('demo page in Firefox and Chromium', { timeout: 180_000 }, () => {
  before(async () => {
    server = await startTestServer({}, { media: true });
    chromium = await launchDemoBrowser();
    firefox = await launchFirefox();
  });

  after(async () => {
    await firefox?.close();
    await chromium?.close();
    await server?.close();
  });

  it('Firefox and Chromium in a call through the SDK: each sees the other playing', async () => {
    const context = await chromium.newContext();
    let fred: FirefoxPage | undefined;
    try {
      const ann = await openDemo(context, server.baseUrl, { room: 'fox-call', name: 'Ann' });
      fred = await openDemoInFirefox(firefox, server.baseUrl, { room: 'fox-call', name: 'Fred' });
      await seesVideoOf(fred, ['Ann']);
      await seesVideoOf(ann, ['Fred']);
      assert.deepEqual(
        (await tiles(fred)).map((t) => t.unsupported),
        ['', ''],
        'nothing unsupported in VP8',
      );
    } finally {
      await fred?.close();
      await context.close();
    }
  });

  it('a Chromium camera in H264 without a VP8 backup: the Firefox tile says it cannot decode it, Chromium still sees Firefox', async () => {
    const context = await chromium.newContext();
    let fred: FirefoxPage | undefined;
    try {
      // With its backup (the default) Firefox would get VP8: demo-backup-codec.test.ts.
      const ann = await openDemo(context, server.baseUrl, {
        room: 'fox-h264',
        name: 'Ann',
        codec: 'H264',
        backupCodec: false,
      });
      fred = await openDemoInFirefox(firefox, server.baseUrl, { room: 'fox-h264', name: 'Fred' });
      const annTile = await eventually(
        () => tiles(fred!).then((all) => all.find((t) => t.name === 'Ann')),
        (t) => t !== undefined && t.unsupported !== '',
        "the reason on Ann's tile in Firefox",
      );
      assert.match(annTile!.unsupported, /cannot play Ann's video: it does not decode H264/);
      await seesVideoOf(ann, ['Fred']);
    } finally {
      await fred?.close();
      await context.close();
    }
  });
});
