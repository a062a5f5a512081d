/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { announcedIps6 } from '../../src/sfu/create-sfu.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { eventually } from './demo-page.ts';
import { RecordingPages, remoteSdps, selectedPairs } from './peer-connections.ts';

/**
 * Announced as the IPv4 address: a multicast one, to which the kernel refuses a TCP connect
 * (ENETUNREACH) without sending anything, so the IPv4 TCP candidate fails at once and no packet
 * leaves the machine (a TEST-NET address would send SYNs to the default route).
 */
const UNUSABLE_IPV4 = '224.0.0.1';

/** Each connected peer connection's selected pair: its local and remote candidates. */
const selectedCandidates = async (page: Page) =>
  (await selectedPairs(page)).map(({ local, remote }) => ({
    local: String(local?.protocol),
    remote: String(remote?.protocol),
    address: String(remote?.address),
    remoteTcpType: String(remote?.tcpType),
  }));

/** Frames decoded so far by the page's video receivers (inbound-rtp, kind video), summed. */
const framesDecoded = (page: Page) =>
  page.evaluate(async () => {
    let total = 0;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs)
      for (const s of (await pc.getStats()).values())
        if (s.type === 'inbound-rtp' && s.kind === 'video') total += Number(s.framesDecoded ?? 0);
    return total;
  });

/**
 * ICE-TCP over IPv6: the server announces no UDP candidate (ICE_UDP_ENABLED=false), an IPv4 TCP
 * candidate no connection can reach (UNUSABLE_IPV4), and an IPv6 TCP candidate on the IPv6
 * loopback (PUBLIC_IP6=::1), so Chromium's only usable candidate is `[::1] tcptype passive`: two
 * pages join over it and decode each other's video. Needs the IPv6 loopback: without it the test
 * fails saying so (it is what proves the IPv6 listener, so it must not skip).
 */
describe('demo page over ICE-TCP on IPv6', { timeout: 120_000 }, () => {
  let server: TestServer;
  const pages = new RecordingPages();

  before(async () => {
    const loopback6 = Object.values(networkInterfaces())
      .flat()
      .some((i) => i?.family === 'IPv6' && i.internal && i.address === '::1');
    if (!loopback6)
      throw new Error(
        'this test needs the IPv6 loopback ::1 (ip -6 addr show lo shows none on this machine)',
      );
    // Chromium gathers its IPv6 (active TCP) candidates on a non-loopback interface only.
    if (announcedIps6(undefined).length === 0)
      throw new Error(
        'this test needs a global or unique-local IPv6 address on this machine besides ::1 (Chromium connects from it)',
      );
    server = await startTestServer(
      {
        PUBLIC_IP: UNUSABLE_IPV4,
        PUBLIC_IP6: '::1',
        ICE_IPV6_ENABLED: 'true',
        ICE_TCP_ENABLED: 'true',
        ICE_UDP_ENABLED: 'false',
      },
      { media: true },
    );
    await pages.launch();
  });
  after(async () => {
    await pages.close();
    await server?.close();
  });

  it('with only the IPv6 TCP candidate usable, Chromium connects over it and video decodes both ways', async () => {
    const [alice, bob] = await pages.openCall(server.baseUrl, 'ice-tcp-ipv6', ['Alice', 'Bob']);
    const sdps = await remoteSdps(alice);
    assert.ok(
      sdps.some((sdp) => / tcp \d+ ::1 \d+ typ host tcptype passive/.test(sdp)),
      'an IPv6 TCP candidate offered',
    );
    assert.ok(
      sdps.every((sdp) => !/a=candidate:\S+ \d+ udp /i.test(sdp)),
      'no UDP candidate offered',
    );
    for (const p of [alice, bob]) {
      const pairs = await selectedCandidates(p);
      assert.ok(pairs.length >= 2, JSON.stringify(pairs));
      for (const pair of pairs)
        assert.deepEqual(pair, { local: 'tcp', remote: 'tcp', address: '::1', remoteTcpType: 'passive' });
      const first = await framesDecoded(p);
      await eventually(
        () => framesDecoded(p),
        (n) => n > first + 10,
        'framesDecoded rising',
        10_000,
      );
    }
    const dump = await server.sfu.dump();
    assert.ok((dump.iceTcp?.connections ?? 0) >= 2, JSON.stringify(dump.iceTcp));
    assert.equal(dump.iceTcp?.framingErrors, 0);
  });
});
