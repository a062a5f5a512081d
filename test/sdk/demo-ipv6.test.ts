/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { announcedIps6 } from '../../src/sfu/create-sfu.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchDemoBrowser, openDemo, recordPeerConnections, seesVideoOf } from './demo-page.ts';

/** TEST-NET-3 (RFC 5737): announced as the IPv4 candidate; no server there answers a check. */
const UNREACHABLE_IPV4 = '203.0.113.1';

/** Remote candidate (address, protocol) of each connected peer connection's selected pair. */
const selectedRemotes = (page: Page) =>
  page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const out: Array<{ address: string; protocol: string }> = [];
    for (const pc of pcs) {
      if (pc.connectionState !== 'connected') continue;
      const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
      const pair = stats.find(
        (s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded',
      );
      const remote = stats.find((s) => s.id === pair?.remoteCandidateId);
      if (remote) out.push({ address: String(remote.address), protocol: String(remote.protocol) });
    }
    return out;
  });

const remoteSdps = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.map((pc) => pc.remoteDescription?.sdp ?? ''),
  );

/**
 * IPv6 host candidates (issue 15): Chromium gathers no loopback candidates, so this runs on the
 * machine's own global or unique-local IPv6 address (skipped without one). The server announces
 * that address and, as its IPv4 candidate, an address nobody can reach (PUBLIC_IP in TEST-NET-1,
 * no ICE-TCP): media can only flow over IPv6, and both pages decode each other's video.
 */
describe('demo page over IPv6', { timeout: 120_000 }, () => {
  const ipv6 = announcedIps6(undefined)[0];
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchDemoBrowser>>;
  const contexts: BrowserContext[] = [];

  before(async () => {
    if (!ipv6) return;
    server = await startTestServer(
      { PUBLIC_IP: UNREACHABLE_IPV4, PUBLIC_IP6: ipv6, ICE_IPV6_ENABLED: 'true', ICE_TCP_ENABLED: 'false' },
      { media: true },
    );
    browser = await launchDemoBrowser();
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  async function page(name: string): Promise<Page> {
    const context = await browser.newContext();
    await context.addInitScript(recordPeerConnections);
    contexts.push(context);
    return openDemo(context, server.baseUrl, { room: 'ipv6', name });
  }

  it('with the IPv4 candidate unreachable, Chromium selects the IPv6 pair and video decodes both ways', async (t) => {
    if (!ipv6) return t.skip('no global or unique-local IPv6 address on this machine');
    const alice = await page('Alice');
    const bob = await page('Bob');
    await seesVideoOf(alice, ['Bob']);
    await seesVideoOf(bob, ['Alice']);
    const sdps = await remoteSdps(alice);
    assert.ok(
      sdps.some((sdp) => sdp.includes(` ${UNREACHABLE_IPV4} `) && sdp.includes(` ${ipv6} `)),
      'both an IPv4 and an IPv6 candidate offered',
    );
    for (const p of [alice, bob]) {
      const remotes = await selectedRemotes(p);
      assert.ok(remotes.length >= 2, JSON.stringify(remotes));
      for (const remote of remotes) assert.deepEqual(remote, { address: ipv6, protocol: 'udp' });
    }
  });
});
