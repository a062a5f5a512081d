/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { createImpairedNetwork, type ImpairedNetwork, launchChromiumIn } from '../support/impairment.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchDemoBrowser, openDemo, recordPeerConnections, seesVideoOf } from './demo-page.ts';

const run = promisify(execFile);

/** Protocol of the local and remote candidates of each connection's selected (nominated, succeeded) pair. */
const selectedPairs = (page: Page) =>
  page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const out: Array<{ local: string; remote: string; remoteTcpType: string | undefined }> = [];
    for (const pc of pcs) {
      if (pc.connectionState !== 'connected') continue;
      const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
      const byId = new Map(stats.map((s) => [s.id, s]));
      const pair = stats.find(
        (s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded',
      );
      if (!pair) continue;
      const local = byId.get(pair.localCandidateId);
      const remote = byId.get(pair.remoteCandidateId);
      out.push({
        local: String(local?.protocol),
        remote: String(remote?.protocol),
        remoteTcpType: remote?.tcpType as string | undefined,
      });
    }
    return out;
  });

/**
 * ICE over TCP (issue 15): Alice's Chromium runs in a network namespace (test/support/impairment.ts)
 * whose nftables drop every UDP packet both ways, so only the server's passive TCP candidate
 * (RFC 6544) can connect; she and Bob (outside, UDP open) each decode the other's video. With UDP
 * open, Chromium's selected pair is UDP although the TCP candidate is offered too.
 */
describe('demo page over ICE-TCP', { timeout: 180_000 }, () => {
  let net: ImpairedNetwork;
  let server: TestServer;
  let local: Awaited<ReturnType<typeof launchDemoBrowser>>;
  let impaired: Awaited<ReturnType<typeof launchChromiumIn>>;
  let impairedBaseUrl: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    net = await createImpairedNetwork();
    server = await startTestServer({ APP_HOST: '0.0.0.0' }, { media: true });
    impairedBaseUrl = `http://${net.hostIp}:${new URL(server.baseUrl).port}`;
    local = await launchDemoBrowser();
    impaired = await launchChromiumIn(net, impairedBaseUrl);
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await impaired?.close();
    await local?.close();
    await server?.close();
    await net?.close();
  });

  const nsNft = (...args: string[]) => run('ip', ['netns', 'exec', net.namespace, 'nft', ...args]);

  async function context(browser: { newContext(): Promise<BrowserContext> }): Promise<BrowserContext> {
    const c = await browser.newContext();
    await c.addInitScript(recordPeerConnections);
    contexts.push(c);
    return c;
  }

  it('with all UDP blocked, Chromium joins over ICE-TCP and video decodes both ways', async () => {
    await nsNft('add', 'table', 'inet', 'bbmeet_no_udp');
    for (const hook of ['input', 'output']) {
      await nsNft('add', 'chain', 'inet', 'bbmeet_no_udp', hook, `{ type filter hook ${hook} priority 0 ; }`);
      await nsNft('add', 'rule', 'inet', 'bbmeet_no_udp', hook, 'meta', 'l4proto', 'udp', 'counter', 'drop');
    }
    try {
      const bob = await openDemo(await context(local), server.baseUrl, { room: 'ice-tcp', name: 'Bob' });
      const alice = await openDemo(await context(impaired), impairedBaseUrl, {
        room: 'ice-tcp',
        name: 'Alice',
      });
      await seesVideoOf(bob, ['Alice']);
      await seesVideoOf(alice, ['Bob']);
      const alicePairs = await selectedPairs(alice);
      assert.ok(alicePairs.length >= 2, `Alice's connected pairs: ${JSON.stringify(alicePairs)}`);
      for (const pair of alicePairs)
        assert.deepEqual(pair, { local: 'tcp', remote: 'tcp', remoteTcpType: 'passive' });
      // The block did block: UDP left the namespace and was dropped.
      const { stdout } = await nsNft('list', 'table', 'inet', 'bbmeet_no_udp');
      assert.match(stdout, /counter packets [1-9]/);
      const dump = await server.sfu.dump();
      assert.ok((dump.iceTcp?.connections ?? 0) >= 2, JSON.stringify(dump.iceTcp));
      assert.equal(dump.iceTcp?.framingErrors, 0);
    } finally {
      await nsNft('delete', 'table', 'inet', 'bbmeet_no_udp').catch(() => undefined);
    }
  });

  it('with UDP open, the selected candidate pair is UDP although a TCP candidate is offered', async () => {
    const carol = await openDemo(await context(local), server.baseUrl, { room: 'ice-udp', name: 'Carol' });
    const dave = await openDemo(await context(local), server.baseUrl, { room: 'ice-udp', name: 'Dave' });
    await seesVideoOf(carol, ['Dave']);
    await seesVideoOf(dave, ['Carol']);
    const offered = await carol.evaluate(() =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.map(
        (pc) => pc.remoteDescription?.sdp ?? '',
      ),
    );
    assert.ok(
      offered.some((sdp) => / tcp \d+ \S+ \d+ typ host tcptype passive/.test(sdp)),
      'a TCP candidate',
    );
    const pairs = await selectedPairs(carol);
    assert.ok(pairs.length >= 2, JSON.stringify(pairs));
    for (const pair of pairs) assert.equal(pair.local, 'udp');
    for (const pair of pairs) assert.equal(pair.remote, 'udp');
  });
});
