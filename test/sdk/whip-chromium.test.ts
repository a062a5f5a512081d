/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { mintJoinToken } from '../../src/lib/join-token.ts';
import { API_KEY, startTestServer, type TestServer } from '../support/server.ts';
import { eventually, launchDemoBrowser, openDemo, seesVideoOf, tiles } from './demo-page.ts';

const IDENTITY_SECRET = 'whip-chromium-identity-secret-0123456789';

/**
 * A page at the server's origin (served by the test, not the server) running medooze's WHIP client
 * (the `whip-whep` package, an ES module nobody on the project wrote) with Chromium's fake camera
 * and microphone. `publishWhip(url, token, simulcast)` resolves with the resource URL and the answer.
 */
async function whipPage(context: BrowserContext, baseUrl: string): Promise<Page> {
  const require = createRequire(import.meta.url);
  const source = await readFile(require.resolve('whip-whep/whip.js'), 'utf8');
  const html = `<!doctype html><meta charset="utf-8"><title>WHIP</title><script type="module">
${source}
window.publishWhip = async (url, token, simulcast) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 960, height: 540 } });
  const pc = new RTCPeerConnection();
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly' });
  pc.addTransceiver(stream.getVideoTracks()[0], {
    direction: 'sendonly',
    ...(simulcast ? { sendEncodings: [
      { rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' },
    ] } : {}),
  });
  const client = new WHIPClient();
  let answer = '';
  client.onAnswer = (sdp) => (answer = sdp);
  await client.publish(pc, url, token);
  window.whip = client;
  return { resource: client.resourceURL.href, answer };
};
document.title = 'ready';
</script>`;
  const page = await context.newPage();
  await page.route(`${baseUrl}/whip-client-test`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: html }),
  );
  await page.goto(`${baseUrl}/whip-client-test`);
  await page.waitForFunction(() => document.title === 'ready');
  return page;
}

/** The rids of the simulcast encodings the page's WHIP connection has encoded frames on. */
async function sendingRids(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { whip: { pc: RTCPeerConnection } }).whip.pc;
    const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
    return stats
      .filter((s) => s.type === 'outbound-rtp' && s.kind === 'video' && Number(s.framesEncoded) > 0)
      .map((s) => String(s.rid ?? ''))
      .sort();
  });
}

/**
 * WHIP ingest (RFC 9725, issue 15): a broadcast tool's WHIP client publishes into a room, a demo
 * page participant of the room decodes its video, and the resource's DELETE takes it out again.
 */
describe('WHIP ingest from Chromium', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchDemoBrowser>>;
  const contexts: BrowserContext[] = [];

  before(async () => {
    server = await startTestServer({ AUTH_IDENTITY_SECRET: IDENTITY_SECRET }, { media: true });
    browser = await launchDemoBrowser();
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  async function context(): Promise<BrowserContext> {
    const c = await browser.newContext();
    contexts.push(c);
    return c;
  }

  /** A join token of the room `code` for the broadcast tool, and the room's id. */
  async function obsToken(code: string, name: string): Promise<{ token: string; roomId: number }> {
    const grants = {
      canPublish: true,
      canSubscribe: false,
      canPublishData: false,
      hidden: false,
      roomAdmin: false,
    };
    const token = mintJoinToken(
      { identity: `whip-${name}`, name, room: code, grants, ttlS: 600 },
      IDENTITY_SECRET,
    );
    const res = await fetch(`${server.baseUrl}/busapi/v3/rooms/${code}`, {
      headers: { 'x-api-key': API_KEY, authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    return { token, roomId: ((await res.json()) as { id: number }).id };
  }

  async function publishCase(code: string, name: string, simulcast: boolean): Promise<void> {
    const viewer = await openDemo(await context(), server.baseUrl, { room: code, name: 'Viewer' });
    const { token, roomId } = await obsToken(code, name);
    const page = await whipPage(await context(), server.baseUrl);
    type Publish = (
      url: string,
      token: string,
      simulcast: boolean,
    ) => Promise<{ resource: string; answer: string }>;
    const published = await page.evaluate(
      ([url, t, s]) => (window as unknown as { publishWhip: Publish }).publishWhip(url, t, s),
      [`${server.baseUrl}/whip/rooms/${roomId}`, token, simulcast] as [string, string, boolean],
    );
    assert.match(published.resource, new RegExp(`/whip/rooms/${roomId}/sessions/`));
    await seesVideoOf(viewer, [name]);
    if (simulcast) {
      assert.match(published.answer, /a=simulcast:recv q;h;f/);
      // What Chromium encodes is its own choice (its bandwidth estimate adds the upper encodings):
      // the SFU took all three rids, and the viewer decodes what arrives.
      const rids = await eventually(
        () => sendingRids(page),
        (r) => r.length > 0,
        'a simulcast encoding sending',
      );
      assert.ok(
        rids.every((rid) => ['q', 'h', 'f'].includes(rid)),
        rids.join(),
      );
    }
    // DELETE of the resource (WHIPClient.stop): the viewer's tile of the WHIP participant goes.
    await page.evaluate(() => (window as unknown as { whip: { stop(): Promise<void> } }).whip.stop());
    await eventually(
      () => tiles(viewer),
      (all) => !all.some((t) => t.name === name),
      `${name}'s tile gone after DELETE`,
    );
    await eventually(
      () =>
        server.sfu.dump().then((d) => d.rooms.find((r) => r.roomId === String(roomId))?.participants.length),
      (n) => n === 1,
      'only the viewer left in the SFU',
    );
  }

  it('a WHIP publisher is seen by a demo page participant, and leaves on DELETE', async () => {
    await publishCase('whip-plain', 'OBS', false);
  });

  it('rid simulcast from a WHIP client (three encodings) is taken by the SFU and its video decodes', async () => {
    await publishCase('whip-simulcast', 'Encoder', true);
  });
});
