import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { type Firefox, launchFirefox } from '../support/firefox.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { keepsDecoding, sentVideo } from './backup-codec-page.ts';
import {
  eventually,
  launchDemoBrowser,
  openDemo,
  openDemoInFirefox,
  recordPeerConnections,
} from './demo-page.ts';

/**
 * Issue 15 (c), the backup codec, with real browsers: a Chromium camera preferring H264 also sends
 * a VP8 backup, paused. A Chromium subscriber receives the H264; a Firefox (no H264 here) joining
 * afterwards receives the VP8 backup under the same camera, which the publisher sends only while
 * that Firefox is there.
 */

let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let firefox: Firefox;

describe('backup codec: a Chromium camera in H264 is seen in VP8 by Firefox', { timeout: 180_000 }, () => {
  let server: TestServer;

  before(async () => {
    chromium = await launchDemoBrowser();
    firefox = await launchFirefox();
    server = await startTestServer({}, { media: true });
  });

  after(async () => {
    await server?.close();
    await firefox?.close();
    await chromium?.close();
  });

  it('Chromium gets H264, Firefox the VP8 backup, which stops once Firefox leaves', async () => {
    const context = await chromium.newContext();
    let fred: FirefoxPage | undefined;
    try {
      await context.addInitScript(recordPeerConnections);
      const room = 'backup-codec';
      const ann = await openDemo(context, server.baseUrl, { room, name: 'Ann', codec: 'H264' });
      const bob = await openDemo(context, server.baseUrl, { room, name: 'Bob' });
      await keepsDecoding(bob, 'Ann', 'video/H264');
      const idle = await sentVideo(ann);
      assert.ok((idle['video/H264']?.packets ?? 0) > 0, 'Ann sends H264');
      // Chromium turns the encodings on with the publish answer, until the SDK pauses them again:
      // a packet or two may leave in between.
      assert.equal(
        idle['video/VP8']?.active ?? false,
        false,
        'the VP8 backup is paused while nobody needs it',
      );
      assert.ok(
        (idle['video/VP8']?.packets ?? 0) < 5,
        `VP8 packets while paused: ${idle['video/VP8']?.packets}`,
      );

      fred = await openDemoInFirefox(firefox, server.baseUrl, { room, name: 'Fred' }, recordPeerConnections);
      await keepsDecoding(fred, 'Ann', 'video/VP8');
      await keepsDecoding(bob, 'Ann', 'video/H264');
      const serving = await sentVideo(ann);
      assert.ok(serving['video/VP8']!.packets > 0, 'Ann sends the VP8 backup while Fred is there');

      await fred.click('#leave');
      await fred.close();
      fred = undefined;
      await eventually(
        () => sentVideo(ann),
        (sent) => sent['video/VP8']?.active === false,
        "Ann's VP8 encodings switched off",
      );
      const stopped = (await sentVideo(ann))['video/VP8']!.packets;
      await keepsDecoding(bob, 'Ann', 'video/H264');
      const later = await sentVideo(ann);
      assert.ok(
        later['video/VP8']!.packets - stopped < 5,
        `the VP8 backup stopped (${stopped} → ${later['video/VP8']!.packets} packets)`,
      );
    } finally {
      await fred?.close();
      await context.close();
    }
  });
});
