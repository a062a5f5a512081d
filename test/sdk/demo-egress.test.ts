import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { EgressJson } from '../../src/sdk/types.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchDemoBrowser, openDemo, screenshot } from './demo-page.ts';
import { EgressTable, startServerWithEgressTable } from './egress-table.ts';

/**
 * The demo page's "Go live" / "Record" / "MoQ" controls (issue 14, item 7) against the real
 * server's egress REST routes: hidden without egress and for a non-host, and for the host a flow
 * of start, state, links and stop, with the egress operations answered by a table.
 */

let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
const contexts: BrowserContext[] = [];

async function newContext(): Promise<BrowserContext> {
  const context = await chromium.newContext();
  contexts.push(context);
  return context;
}

interface EgressItem {
  id: string;
  kind: string;
  state: string;
  label: string;
  links: Array<{ className: string; href: string }>;
  elapsed: string | null;
  stop: boolean;
}

function items(page: Page): Promise<EgressItem[]> {
  return page.$$eval('#egress-list li', (els) =>
    els.map((el) => {
      const li = el as HTMLElement;
      return {
        id: li.dataset.egressId ?? '',
        kind: li.dataset.kind ?? '',
        state: li.dataset.state ?? '',
        label: li.querySelector('.egress-label')?.textContent ?? '',
        links: [...li.querySelectorAll('a')].map((a) => ({ className: a.className, href: a.href })),
        elapsed: li.querySelector('.elapsed, .duration')?.textContent ?? null,
        stop: li.querySelector('.egress-stop') !== null,
      };
    }),
  );
}

async function item(page: Page, kind: string, state: string): Promise<EgressItem> {
  await page.waitForSelector(`#egress-list li[data-kind="${kind}"][data-state="${state}"]`, {
    timeout: 15_000,
  });
  return (await items(page)).find((i) => i.kind === kind && i.state === state)!;
}

describe('demo page egress controls', { timeout: 180_000 }, () => {
  before(async () => {
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
  });

  it('a server without egress: the controls stay hidden and no error is shown', async () => {
    const server = await startTestServer({}, { media: true });
    try {
      const page = await openDemo(await newContext(), server.baseUrl, { room: 'plain', name: 'Alice' });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      // The page asked the server (GET …/egress answered 501) and concluded there is no egress.
      await page.waitForSelector('#egress[data-status="unavailable"]', {
        state: 'attached',
        timeout: 15_000,
      });
      assert.equal(await page.isHidden('#egress'), true);
      assert.equal(await page.isHidden('#egress-list'), true);
      assert.equal(await page.isHidden('#banner'), true, 'no error banner');
      assert.deepEqual(errors, []);
    } finally {
      await server.close();
    }
  });

  describe('a server whose egress routes answer', () => {
    let server: TestServer;
    const table = new EgressTable();
    let host: Page;

    before(async () => {
      server = await startServerWithEgressTable(table);
      host = await openDemo(await newContext(), server.baseUrl, { room: 'live', name: 'Alice' });
    });

    after(async () => {
      await server?.close();
    });

    it('the host sees the controls; a participant who is not the host does not', async () => {
      await host.waitForSelector('#egress[data-status="ready"]', { timeout: 15_000 });
      assert.equal(await host.isVisible('#go-live'), true);
      assert.equal(await host.isVisible('#record'), true);
      const guest = await openDemo(await newContext(), server.baseUrl, { room: 'live', name: 'Bob' });
      await guest.waitForSelector('#egress[data-status="not-host"]', { state: 'attached', timeout: 15_000 });
      assert.equal(await guest.isHidden('#egress'), true);
      assert.equal(await guest.isHidden('#banner'), true, 'a 403 is no error for the non-host');
      await guest.context().close();
    });

    it('go live: the room HLS egress starts, its playlist and a watch link show, stop ends it', async () => {
      await host.click('#go-live');
      const live = await item(host, 'hls', 'active');
      const request = table.calls.at(-1)!;
      assert.equal(request.kind, 'hls');
      assert.equal(request.participantId, null, 'the whole room');
      assert.match(request.requestedBy, /^user:\d+$/);
      const playlist = `${server.baseUrl}/egress/${live.id}/master.m3u8`;
      const watch = new URL('/egress/watch.html', server.baseUrl);
      watch.searchParams.set('hls', playlist);
      assert.deepEqual(live.links, [
        { className: 'playlist', href: playlist },
        { className: 'watch', href: watch.toString() },
      ]);
      assert.equal(await host.isDisabled('#go-live'), true, 'one live stream at a time');
      await screenshot(host, 'egress-live.png');
      await host.click(`#egress-list li[data-egress-id="${live.id}"] .egress-stop`);
      const ended = await item(host, 'hls', 'ended');
      assert.equal(ended.stop, false);
      assert.deepEqual(ended.links, [{ className: 'playlist', href: playlist }], 'no watch link once ended');
      assert.match(ended.label, /stopped/);
      assert.equal(await host.isDisabled('#go-live'), false);
    });

    it('record: elapsed time runs while recording; stopped, the files are linked', async () => {
      await host.click('#record');
      const rec = await item(host, 'recording', 'active');
      assert.match(rec.elapsed ?? '', /^0:0\d$/);
      // The clock ticks every second: wait until it has moved past its first value.
      await host.waitForFunction(
        ([id, first]) =>
          document.querySelector(`#egress-list li[data-egress-id="${id}"] .elapsed`)?.textContent !== first,
        [rec.id, rec.elapsed] as const,
        { timeout: 10_000 },
      );
      await host.click(`#egress-list li[data-egress-id="${rec.id}"] .egress-stop`);
      const done = await item(host, 'recording', 'ended');
      assert.deepEqual(done.links, [
        { className: 'file', href: `${server.baseUrl}/egress/${rec.id}/room.webm` },
      ]);
    });

    it('a failure reported by the backend shows on the next poll, with its reason', async () => {
      await host.click('#moq');
      const moq = await item(host, 'moq', 'active');
      const watch = new URL(moq.links[0]!.href);
      assert.equal(watch.pathname, '/egress/watch.html');
      assert.equal(watch.searchParams.get('moq'), `ws://127.0.0.1:${server.port}/egress/moq`);
      assert.equal(watch.searchParams.get('path'), table.egresses.get(moq.id)!.moqPath);
      table.end(moq.id, 'failed', 'relay unreachable');
      const failed = await item(host, 'moq', 'failed');
      assert.match(failed.label, /relay unreachable/);
      assert.equal(failed.stop, false);
    });
  });
});

// The SDK's EgressJson mirrors the server's EgressInfo plus `urls`: a drift fails the typecheck.
type Mirror = Omit<EgressJson, 'urls'>;
const mirrors = (info: Awaited<ReturnType<EgressTable['startEgress']>>): Mirror => info;
void mirrors;
