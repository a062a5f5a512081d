/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { startCoturn, type TestCoturn } from '../support/coturn.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { eventually, launchDemoBrowser, openDemo, seesVideoOf } from './demo-page.ts';

const TURN_SECRET = 'demo-turn-secret-0123456789';

/**
 * A call through Debian's coturn: the server hands out TURN credentials (GET /auth/ice-servers),
 * both demo pages run with `?relay=1` (iceTransportPolicy relay), so Chromium can only reach our
 * ICE-lite SFU's host candidate through a relay allocated at coturn on loopback
 * (--allow-loopback-peers). Each page decodes the other's video, and every connected
 * RTCPeerConnection's selected pair has a local relay candidate, over UDP, TCP and TLS to coturn
 * (TLS: `turns:`, the test's coturn with a self-signed certificate that its Chromium accepts).
 */
describe('demo page: a call relayed through coturn (?relay=1)', { timeout: 240_000 }, () => {
  let coturn: TestCoturn;
  let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
  const contexts: BrowserContext[] = [];

  before(async () => {
    coturn = await startCoturn(TURN_SECRET, { tls: true });
    chromium = await launchDemoBrowser();
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    await coturn?.stop();
  });

  /** A page whose RTCPeerConnections are kept in `window.__pcs` for getStats. */
  async function relayedPage(
    browser: typeof chromium,
    server: TestServer,
    room: string,
    name: string,
  ): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    await context.addInitScript(() => {
      const w = window as unknown as { __pcs: RTCPeerConnection[] };
      w.__pcs = [];
      const Native = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          super(config);
          w.__pcs.push(this);
        }
      };
    });
    return openDemo(context, server.baseUrl, { room, name, relay: true, simulcast: false });
  }

  /** For each connected connection of the page: its policy and its selected pair's candidate types. */
  function selectedPairs(page: Page) {
    return page.evaluate(async () => {
      const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
      const connected = pcs.filter((pc) => pc.connectionState === 'connected');
      return Promise.all(
        connected.map(async (pc) => {
          const stats = await pc.getStats();
          let pair: Record<string, unknown> | undefined;
          stats.forEach((s) => {
            if (s.type === 'transport' && s.selectedCandidatePairId)
              pair = stats.get(s.selectedCandidatePairId);
          });
          const local = pair && stats.get(pair.localCandidateId as string);
          const remote = pair && stats.get(pair.remoteCandidateId as string);
          return {
            policy: pc.getConfiguration().iceTransportPolicy,
            local: local?.candidateType as string | undefined,
            relayProtocol: local?.relayProtocol as string | undefined,
            remote: remote?.candidateType as string | undefined,
          };
        }),
      );
    });
  }

  async function relayedCall(
    turnUrl: string,
    relayProtocol: 'udp' | 'tcp' | 'tls',
    browser = chromium,
  ): Promise<void> {
    const server = await startTestServer({ TURN_URLS: turnUrl, TURN_SECRET }, { media: true });
    try {
      const room = `turn-${relayProtocol}`;
      const alice = await relayedPage(browser, server, room, 'Alice');
      const bob = await relayedPage(browser, server, room, 'Bob');
      // A relay that does not carry the call says why in coturn's log.
      const seen = (page: Page, who: string) =>
        seesVideoOf(page, [who]).catch((err: unknown) => {
          throw new Error(`${String(err)}; coturn: ${coturn.log().slice(-1500)}`);
        });
      await seen(alice, 'Bob');
      await seen(bob, 'Alice');
      for (const page of [alice, bob]) {
        // Publisher and subscriber connection: both relayed.
        const pairs = await eventually(
          () => selectedPairs(page),
          (p) => p.length >= 2,
          'two connected peer connections',
        );
        for (const pair of pairs) {
          assert.deepEqual(pair, { policy: 'relay', local: 'relay', relayProtocol, remote: 'host' });
        }
      }
      for (const page of [alice, bob]) await page.context().close();
    } finally {
      await server.close();
    }
  }

  it('each page decodes the other through a UDP relay (turn:…?transport=udp)', async () => {
    await relayedCall(coturn.urls.udp, 'udp');
  });

  it('each page decodes the other through coturn over TCP (turn:…?transport=tcp)', async () => {
    await relayedCall(coturn.urls.tcp, 'tcp');
  });

  it('each page decodes the other through coturn over TLS (turns:…?transport=tcp)', async () => {
    // Chromium checks a TURN server's certificate: this one is self-signed, made for the test.
    const trusting = await launchDemoBrowser({ extraArgs: ['--ignore-certificate-errors'] });
    try {
      await relayedCall(coturn.urls.tls!, 'tls', trusting);
    } finally {
      await trusting.close();
    }
  });

  it('?relay=1 against a server without TURN says so in the lobby instead of joining', async () => {
    const server = await startTestServer({ STUN_URLS: 'stun:127.0.0.1:3478' });
    try {
      const context = await chromium.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(
        `${server.baseUrl}/?${new URLSearchParams({ room: 'no-turn', name: 'Carol', autojoin: '1', relay: '1' })}`,
      );
      await page.waitForSelector('#lobby-error:not([hidden])', { timeout: 20_000 });
      assert.match(
        (await page.textContent('#lobby-error')) ?? '',
        /no TURN server \(set TURN_URLS and TURN_SECRET\)/,
      );
      assert.notEqual(await page.getAttribute('body', 'data-state'), 'joined');
    } finally {
      await server.close();
    }
  });
});
