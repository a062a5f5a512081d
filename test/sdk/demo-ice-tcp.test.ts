/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { createImpairedNetwork, type ImpairedNetwork, launchChromiumIn } from '../support/impairment.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchDemoBrowser, seesVideoOf } from './demo-page.ts';
import { RecordingPages, remoteSdps, selectedPairs } from './peer-connections.ts';

const run = promisify(execFile);

/** Protocol of the local and remote candidates of each connection's selected (nominated, succeeded) pair. */
const selectedProtocols = async (page: Page) =>
  (await selectedPairs(page)).map(({ local, remote }) => ({
    local: String(local?.protocol),
    remote: String(remote?.protocol),
    remoteTcpType: remote?.tcpType as string | undefined,
  }));

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
  const pages = new RecordingPages();

  before(async () => {
    net = await createImpairedNetwork();
    server = await startTestServer({ APP_HOST: '0.0.0.0' }, { media: true });
    impairedBaseUrl = `http://${net.hostIp}:${new URL(server.baseUrl).port}`;
    local = await launchDemoBrowser();
    impaired = await launchChromiumIn(net, impairedBaseUrl);
  });
  after(async () => {
    await pages.close();
    await impaired?.close();
    await local?.close();
    await server?.close();
    await net?.close();
  });

  const nsNft = (...args: string[]) => run('ip', ['netns', 'exec', net.namespace, 'nft', ...args]);

  it('with all UDP blocked, Chromium joins over ICE-TCP and video decodes both ways', async () => {
    await nsNft('add', 'table', 'inet', 'bbmeet_no_udp');
    for (const hook of ['input', 'output']) {
      await nsNft('add', 'chain', 'inet', 'bbmeet_no_udp', hook, `{ type filter hook ${hook} priority 0 ; }`);
      await nsNft('add', 'rule', 'inet', 'bbmeet_no_udp', hook, 'meta', 'l4proto', 'udp', 'counter', 'drop');
    }
    try {
      const bob = await pages.open(server.baseUrl, { room: 'ice-tcp', name: 'Bob' }, local);
      const alice = await pages.open(impairedBaseUrl, { room: 'ice-tcp', name: 'Alice' }, impaired);
      await seesVideoOf(bob, ['Alice']);
      await seesVideoOf(alice, ['Bob']);
      const alicePairs = await selectedProtocols(alice);
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
    const carol = await pages.open(server.baseUrl, { room: 'ice-udp', name: 'Carol' }, local);
    const dave = await pages.open(server.baseUrl, { room: 'ice-udp', name: 'Dave' }, local);
    await seesVideoOf(carol, ['Dave']);
    await seesVideoOf(dave, ['Carol']);
    const offered = await remoteSdps(carol);
    assert.ok(
      offered.some((sdp) => / tcp \d+ \S+ \d+ typ host tcptype passive/.test(sdp)),
      'a TCP candidate',
    );
    const pairs = await selectedProtocols(carol);
    assert.ok(pairs.length >= 2, JSON.stringify(pairs));
    for (const pair of pairs) assert.equal(pair.local, 'udp');
    for (const pair of pairs) assert.equal(pair.remote, 'udp');
  });
});
