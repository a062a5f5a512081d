import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { protect, rtp, until } from '../../test/fakes/scripted-peer.ts';
import { connect } from '../../test/fakes/udp-peer.ts';
import { certificatePair, loopbackUdpEndpoint } from '../../test/support/loopback-endpoint.ts';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls/dtls-certificate.ts';
import { nativeAddon } from './srtp/native-addon.ts';
import { UdpEndpoint } from './udp-endpoint.ts';

/** The endpoint over IPv6: its send queue to IPv6 peers, and the IPv6-only socket beside the IPv4 one. */
describe('sending to IPv6 peers', () => {
  it('IPv6: the queue sends to IPv6 peers', {
    skip: nativeAddon() ? false : 'no native addon',
  }, async () => {
    const serverCert = await generateDtlsCertificate();
    const endpoint = new UdpEndpoint({ certificate: serverCert, announcedIps: ['::1'], family: 'udp6' });
    await endpoint.bind(0, '::1').catch((err: unknown) => {
      throw new Error(`this test needs the IPv6 loopback ::1: ${(err as Error).message}`);
    });
    const socket = dgram.createSocket('udp6');
    try {
      await new Promise<void>((resolve) => socket.bind(0, '::1', resolve));
      assert.equal(endpoint.sendPath, 'sendmmsg');
      const got: Buffer[] = [];
      socket.on('message', (m) => got.push(m));
      const to = { address: '::1', port: socket.address().port, family: 'IPv6' as const };
      for (let i = 0; i < 5; i++) endpoint.send(Buffer.from([0x16, i]), to);
      await until(() => got.length === 5, 'five datagrams over IPv6');
      assert.deepEqual(
        got.map((m) => m[1]),
        [0, 1, 2, 3, 4],
      );
    } finally {
      socket.close();
      endpoint.close();
    }
  });
});

describe('IPv6: a second, IPv6-only socket beside the IPv4 one', () => {
  let serverCert: DtlsCertificate;
  let peerCert: DtlsCertificate;
  let endpoint: UdpEndpoint;
  before(async () => {
    [serverCert, peerCert] = await certificatePair();
    endpoint = loopbackUdpEndpoint(serverCert, { ipv6: true });
    await endpoint.bind(0, '127.0.0.1', '::1').catch((err: unknown) => {
      throw new Error(`these tests need the IPv6 loopback ::1: ${(err as Error).message}`);
    });
  });
  after(() => endpoint.close());

  it("announces the IPv6 address on the IPv6 socket's port, below the IPv4 candidate", () => {
    const transport = endpoint.createTransport();
    const candidates = transport.localParameters.candidates;
    transport.close();
    assert.ok(endpoint.port6 > 0);
    assert.deepEqual(
      candidates.map((c) => [c.ip, c.port]),
      [
        ['127.0.0.1', endpoint.port],
        ['::1', endpoint.port6],
      ],
    );
    assert.ok(candidates[0]!.priority > candidates[1]!.priority);
  });

  it('a peer on ::1 gets its STUN check answered, completes DTLS and exchanges SRTP, sent back from the IPv6 socket', async () => {
    const { peer, transport } = await connect(endpoint, serverCert, peerCert, '::1');
    const v4 = await connect(endpoint, serverCert, peerCert);
    try {
      assert.equal(transport.agent.selected?.family, 'IPv6');
      assert.equal(transport.agent.selected?.address, '::1');
      const got: Buffer[] = [];
      transport.onRtp = (p) => got.push(Buffer.from(p));
      for (let seq = 1; seq <= 10; seq++) peer.sendRaw(protect(peer.send!, rtp(seq, 0xaaaa)));
      await until(() => got.length === 10, '10 packets at the server over IPv6');
      const sendCalls = endpoint.stats.sendCalls;
      // One burst to both peers: each datagram leaves from the socket of its peer's family.
      for (let seq = 1; seq <= 20; seq++) {
        transport.sendRtp(rtp(seq, 0xbbbb));
        v4.transport.sendRtp(rtp(seq, 0xcccc));
      }
      await until(() => peer.received.length === 20 && v4.peer.received.length === 20, 'both peers served');
      assert.deepEqual(peer.received[19], rtp(20, 0xbbbb));
      assert.deepEqual(v4.peer.received[19], rtp(20, 0xcccc));
      // With the addon each socket's burst is one sendmmsg (its own queue), not 40 sends.
      if (nativeAddon()) {
        assert.equal(endpoint.sendPath, 'sendmmsg');
        assert.ok(endpoint.stats.sendCalls - sendCalls <= 4, `${endpoint.stats.sendCalls - sendCalls} calls`);
      }
    } finally {
      transport.close();
      v4.transport.close();
      peer.close();
      v4.peer.close();
    }
  });

  it('an IPv6 socket that cannot bind fails the start with an error naming it and the switch to do without', async () => {
    const failing = new UdpEndpoint({
      certificate: serverCert,
      announcedIps: ['127.0.0.1'],
      announcedIps6: ['2001:db8::1'],
    });
    try {
      // A documentation address no machine holds: EADDRNOTAVAIL (or EAFNOSUPPORT without IPv6).
      await assert.rejects(
        failing.bind(0, '127.0.0.1', '2001:db8::1'),
        /the IPv6 media socket could not bind \[2001:db8::1\]:0 .*ICE_IPV6_ENABLED=false runs on IPv4 only/,
      );
      assert.equal(failing.port6, 0);
    } finally {
      failing.close();
    }
  });

  it('without IPv6 addresses no IPv6 socket is bound and nothing IPv6 is announced', async () => {
    const plain = new UdpEndpoint({
      certificate: serverCert,
      announcedIps: ['127.0.0.1'],
      announcedIps6: [],
    });
    await plain.bind(0, '127.0.0.1');
    try {
      assert.equal(plain.port6, 0);
      const transport = plain.createTransport();
      assert.deepEqual(
        transport.localParameters.candidates.map((c) => c.ip),
        ['127.0.0.1'],
      );
      transport.close();
    } finally {
      plain.close();
    }
  });
});
