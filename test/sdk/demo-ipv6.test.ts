/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { announcedIps6 } from '../../src/sfu/create-sfu.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { RecordingPages, remoteSdps, selectedPairs } from './peer-connections.ts';

/** TEST-NET-3 (RFC 5737): announced as the IPv4 candidate; no server there answers a check. */
const UNREACHABLE_IPV4 = '203.0.113.1';

/** Remote candidate (address, protocol) of each connected peer connection's selected pair. */
const selectedRemotes = async (page: Page) =>
  (await selectedPairs(page)).flatMap(({ remote }) =>
    remote ? [{ address: String(remote.address), protocol: String(remote.protocol) }] : [],
  );

/**
 * IPv6 host candidates (issue 15): Chromium gathers no loopback candidates, so this runs on the
 * machine's own global or unique-local IPv6 address (it fails saying so without one). The server announces
 * that address and, as its IPv4 candidate, an address nobody can reach (PUBLIC_IP in TEST-NET-1,
 * no ICE-TCP): media can only flow over IPv6, and both pages decode each other's video.
 */
describe('demo page over IPv6', { timeout: 120_000 }, () => {
  const ipv6 = announcedIps6(undefined)[0];
  let server: TestServer;
  const pages = new RecordingPages();

  before(async () => {
    if (!ipv6)
      throw new Error(
        'this test needs a global or unique-local IPv6 address on this machine (Chromium gathers no loopback candidates)',
      );
    server = await startTestServer(
      { PUBLIC_IP: UNREACHABLE_IPV4, PUBLIC_IP6: ipv6, ICE_IPV6_ENABLED: 'true', ICE_TCP_ENABLED: 'false' },
      { media: true },
    );
    await pages.launch();
  });
  after(async () => {
    await pages.close();
    await server?.close();
  });

  it('with the IPv4 candidate unreachable, Chromium selects the IPv6 pair and video decodes both ways', async () => {
    const [alice, bob] = await pages.openCall(server.baseUrl, 'ipv6', ['Alice', 'Bob']);
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
