import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { eventually, launchDemoBrowser, openDemo, seesVideoOf, tiles } from './demo-page.ts';

/**
 * `room.setPreferredQuality` end to end: the SDK's `track_quality` data channel on the subscriber
 * connection reaches the SFU, which forwards the asked simulcast layer (the decoded width
 * follows). Needs the server's data channels (SCTP in the subscriber offers).
 */

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
const contexts: BrowserContext[] = [];

/** Width of the biggest layer the page sends of its camera (room.getStats, 'local'). */
function sentWidth(page: Page): Promise<number> {
  return page.evaluate(async () => {
    type Stats = Record<string, { videos: Record<string, { width: number }> }>;
    const w = window as unknown as { bbmeet: { room: { getStats(): Promise<Stats> } } };
    const local = (await w.bbmeet.room.getStats()).local;
    return Math.max(0, ...Object.values(local?.videos ?? {}).map((v) => v.width));
  });
}

function setPreferred(page: Page, participantId: string, quality: string): Promise<void> {
  return page.evaluate(
    ([id, q]) => {
      const w = window as unknown as {
        bbmeet: { room: { setPreferredQuality(id: string, q: string): void } | null };
      };
      w.bbmeet.room!.setPreferredQuality(id!, q!);
    },
    [participantId, quality],
  );
}

describe('demo page: preferred quality over track_quality', { timeout: 240_000 }, () => {
  before(async () => {
    server = await startTestServer({}, { media: true });
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    await server?.close();
  });

  it("Bob asks for Alice's camera low, then high: the width he decodes follows", async () => {
    const newContext = async () => {
      const c = await chromium.newContext();
      contexts.push(c);
      return c;
    };
    const alice = await openDemo(await newContext(), server.baseUrl, {
      room: 'layers',
      name: 'Alice',
      res: 720,
    });
    const bob = await openDemo(await newContext(), server.baseUrl, { room: 'layers', name: 'Bob', res: 180 });
    await seesVideoOf(bob, ['Alice']);
    const aliceTile = async () => (await tiles(bob)).find((t) => t.name === 'Alice')!;
    const aliceId = (await aliceTile()).participant;
    // 720p in three layers (q 320, h 640, f 1280 wide): Bob gets h or f once Alice's sender ramps up.
    const top = await eventually(
      async () => (await aliceTile()).videoWidth,
      (w) => w >= 640,
      'a high layer at Bob',
      30_000,
    );
    await setPreferred(bob, aliceId, 'low');
    const low = await eventually(
      async () => (await aliceTile()).videoWidth,
      (w) => w > 0 && w <= 320,
      'the low layer after setPreferredQuality(low)',
      20_000,
    );
    // Dynacast: nobody wants more than q, so the server's track_quality tells Alice's page to
    // stop encoding h and f (after the server's delay per layer).
    await eventually(
      () => sentWidth(alice),
      (w) => w > 0 && w <= 320,
      'Alice sends q only',
      30_000,
    );
    await setPreferred(bob, aliceId, 'high');
    await eventually(
      async () => (await aliceTile()).videoWidth,
      (w) => w >= 640,
      'the top layer again after setPreferredQuality(high)',
      30_000,
    );
    assert.ok((await sentWidth(alice)) >= 640, 'Alice sends the higher layers again');
    assert.ok(low < top);
  });
});
