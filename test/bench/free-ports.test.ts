import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { describe, it } from 'node:test';
import { freeBesidesUdp4, freeUdpPort } from '../../bench/free-ports.ts';

const hasIpv6 = Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6'));

/** Listens on TCP `host`:`port` until the returned close is called. */
async function holdTcp(port: number, host: string, ipv6Only: boolean): Promise<() => Promise<void>> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, resolve);
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * A media worker binds its port number for UDP on IPv4 and IPv6 and for ICE-TCP on IPv4 and IPv6:
 * the port the tests and the bench pick must be free for all four (a port taken for IPv6 TCP made
 * a worker of a spanning-room test exit at start).
 */
describe('free ports for a media worker', () => {
  it('a port held by an IPv4 TCP listener is not free', async () => {
    const port = await freeUdpPort();
    assert.equal(await freeBesidesUdp4(port), true);
    const release = await holdTcp(port, '127.0.0.1', false);
    try {
      assert.equal(await freeBesidesUdp4(port), false);
    } finally {
      await release();
    }
  });

  it('a port held by an IPv6-only TCP listener is not free', async () => {
    assert.ok(hasIpv6, 'this test needs an IPv6 address (the loopback ::1 is enough)');
    const port = await freeUdpPort();
    const release = await holdTcp(port, '::', true);
    try {
      assert.equal(await freeBesidesUdp4(port), false);
    } finally {
      await release();
    }
    assert.equal(await freeBesidesUdp4(port), true, 'free again once released');
  });

  it('a port held by an IPv6 UDP socket is not free', async () => {
    assert.ok(hasIpv6, 'this test needs an IPv6 address (the loopback ::1 is enough)');
    const port = await freeUdpPort();
    const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    await new Promise<void>((resolve) => socket.bind(port, '::', resolve));
    try {
      assert.equal(await freeBesidesUdp4(port), false);
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
});
