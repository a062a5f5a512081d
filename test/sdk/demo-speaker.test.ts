import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  eventually,
  launchDemoBrowser,
  openDemo,
  screenshot,
  seesVideoOf,
  type TileView,
  tiles,
} from './demo-page.ts';

/**
 * The demo page shows `room.active_speakers` (a highlighted tile) and `room.connection_quality`
 * (bars on each tile). Chromium's fake microphone beeps; a muted microphone sends silence.
 */

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
const contexts: BrowserContext[] = [];

const speakingNames = (all: TileView[]) =>
  all
    .filter((t) => t.speaking)
    .map((t) => t.name)
    .sort();

describe('demo page: active speaker and connection quality', { timeout: 240_000 }, () => {
  before(async () => {
    server = await startTestServer({}, { media: true });
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    await server?.close();
  });

  it('the speaking tile is highlighted (and follows mute/unmute); every tile shows its quality', async () => {
    const newContext = async () => {
      const c = await chromium.newContext();
      contexts.push(c);
      return c;
    };
    const alice = await openDemo(await newContext(), server.baseUrl, { room: 'speakers', name: 'Alice' });
    const bob = await openDemo(await newContext(), server.baseUrl, { room: 'speakers', name: 'Bob' });
    await bob.click('#mic');
    await seesVideoOf(alice, ['Bob']);
    await seesVideoOf(bob, ['Alice']);

    // Only Alice's microphone sounds: her tile is highlighted on both pages, Bob's is not.
    for (const page of [alice, bob]) {
      await eventually(
        () => tiles(page),
        (all) => speakingNames(all).join() === 'Alice',
        'Alice highlighted, alone',
        20_000,
      );
    }
    // Every tile has a quality indicator, showing excellent or good on loopback.
    for (const page of [alice, bob]) {
      const all = await eventually(
        () => tiles(page),
        (all) => all.length === 2 && all.every((t) => /^(excellent|good)$/.test(t.quality)),
        'quality on every tile',
        20_000,
      );
      assert.ok(all.every((t) => t.hasQualityIndicator));
    }
    await screenshot(bob, 'active-speaker.png');

    // Alice mutes, Bob unmutes: the highlight moves.
    await alice.click('#mic');
    await bob.click('#mic');
    for (const page of [alice, bob]) {
      await eventually(
        () => tiles(page),
        (all) => speakingNames(all).join() === 'Bob',
        'Bob highlighted, alone',
        20_000,
      );
    }
    const title = await alice.getAttribute('#grid .tile[data-local="false"] .quality', 'title');
    assert.match(title ?? '', /^Connection: (excellent|good)$/);
  });
});
