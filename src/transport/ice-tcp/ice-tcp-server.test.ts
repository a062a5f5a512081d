import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TcpPeer } from '../../../test/fakes/ice-tcp-peer.ts';
import {
  checkConnectivity,
  completeDtls,
  protect,
  receiverReport,
  rtp,
  until,
} from '../../../test/fakes/scripted-peer.ts';
import { bindingRequest } from '../../../test/fakes/stun-request.ts';
import { certificatePair, loopbackUdpEndpoint } from '../../../test/support/loopback-endpoint.ts';
import type { DtlsCertificate } from '../dtls/dtls-certificate.ts';
import { parseStun, StunType } from '../ice/stun.ts';
import { candidatePriority } from '../ice-candidates.ts';
import type { UdpEndpoint } from '../udp-endpoint.ts';
import type { WebRtcTransport } from '../webrtc-transport.ts';
import { frame } from './rfc4571-framing.ts';

// Bounded: a handshake that stalls fails the file instead of holding the suite.
describe('ICE-TCP (RFC 6544 passive) on a UdpEndpoint', { timeout: 60_000 }, () => {
  let serverCert: DtlsCertificate;
  let peerCert: DtlsCertificate;
  let endpoint: UdpEndpoint;
  before(async () => {
    [serverCert, peerCert] = await certificatePair();
    endpoint = loopbackUdpEndpoint(serverCert);
    await endpoint.bind(0, '127.0.0.1');
    await endpoint.listenTcp(0, '127.0.0.1');
  });
  after(() => endpoint.close());

  async function connectTcp(): Promise<{ peer: TcpPeer; transport: WebRtcTransport }> {
    const transport = endpoint.createTransport();
    const peer = new TcpPeer(endpoint.tcp!.port);
    await peer.connected();
    await checkConnectivity(peer, transport, peerCert);
    await completeDtls(peer, transport, peerCert, serverCert);
    return { peer, transport };
  }

  it('a transport announces a passive TCP candidate on the TCP port beside its UDP one; no IPv6 listener without IPv6', () => {
    const t = endpoint.createTransport();
    assert.deepEqual(
      t.localParameters.candidates.map((c) => [c.protocol, c.port, c.tcpType]),
      [
        ['udp', endpoint.port, undefined],
        ['tcp', endpoint.tcp!.port, 'passive'],
      ],
    );
    assert.equal(endpoint.tcp!.port6, 0);
    t.close();
  });

  it('ICE → DTLS → SRTP over RFC 4571 frames: RTP flows both ways', async () => {
    const { peer, transport } = await connectTcp();
    assert.ok(transport.agent.selected?.stream, 'the TCP connection is the selected path');
    const got: Buffer[] = [];
    transport.onRtp = (p) => got.push(Buffer.from(p));
    // Many frames in one write: the reader splits them back.
    peer.socket.write(
      Buffer.concat(Array.from({ length: 20 }, (_, i) => frame(protect(peer.send!, rtp(i + 1, 0xaaaa)))!)),
    );
    await until(() => got.length === 20, '20 packets at the server');
    assert.deepEqual(got[4], rtp(5, 0xaaaa));
    for (let seq = 1; seq <= 20; seq++) transport.sendRtp(rtp(seq, 0xbbbb));
    await until(() => peer.received.length === 20, '20 packets at the peer');
    assert.deepEqual(peer.received[19], rtp(20, 0xbbbb));
    transport.close();
    await peer.closed;
    peer.close();
  });

  it('consent checks over the TCP path keep refreshing consent; an ICE restart carries on over TCP', async () => {
    const { peer, transport } = await connectTcp();
    const firstCheckMs = transport.agent.lastCheckMs;
    await new Promise((resolve) => setTimeout(resolve, 5));
    peer.check(transport.agent.localUfrag, transport.agent.localPwd);
    await until(() => transport.agent.lastCheckMs > firstCheckMs, 'consent refreshed');
    transport.setRemoteParameters({
      iceUfrag: 'tcppeer2',
      icePwd: 'tcp-peer-password-012345',
      fingerprints: [{ algorithm: 'sha-256', value: peerCert.fingerprint }],
      setup: 'active',
    });
    const successes = peer.stunResponses.length;
    peer.sendFramed(
      bindingRequest(`${transport.agent.localUfrag}:tcppeer2`, transport.agent.localPwd, {
        useCandidate: true,
      }),
    );
    await until(() => peer.stunResponses.length > successes, 'a response after the restart');
    assert.equal(peer.stunResponses.at(-1), StunType.BindingSuccess);
    transport.sendRtp(rtp(1, 0xcccc));
    await until(() => peer.received.length === 1, 'RTP after the restart');
    transport.close();
    peer.close();
  });

  it('a zero-length frame or a frame that is no STUN, DTLS or RTP closes that connection, counted; others carry on', async () => {
    const { peer, transport } = await connectTcp();
    const before = endpoint.tcp!.stats.framingErrors;
    for (const junk of [Buffer.from([0x00, 0x00, 0x01]), frame(Buffer.from([0x50, 1, 2, 3]))!]) {
      const bad = new TcpPeer(endpoint.tcp!.port);
      await bad.connected();
      bad.socket.write(junk);
      await bad.closed;
    }
    assert.equal(endpoint.tcp!.stats.framingErrors, before + 2);
    transport.sendRtp(rtp(7, 0xdddd));
    await until(() => peer.received.length === 1, 'RTP on the good connection');
    transport.close();
    peer.close();
  });

  it('a checked UDP path nominated after TCP wins: the transport moves to UDP and drops the TCP route', async () => {
    const { peer, transport } = await connectTcp();
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const answered = new Promise<Buffer>((resolve) => udp.once('message', resolve));
    udp.send(
      bindingRequest(`${transport.agent.localUfrag}:tcppeer`, transport.agent.localPwd, {
        useCandidate: true,
      }),
      endpoint.port,
      '127.0.0.1',
    );
    assert.equal(parseStun(await answered)?.type, StunType.BindingSuccess);
    assert.equal(transport.agent.selected?.stream, undefined);
    const unbound = endpoint.tcp!.stats.unboundFrames;
    peer.sendFramed(protect(peer.send!, rtp(1, 0xeeee)));
    await until(() => endpoint.tcp!.stats.unboundFrames === unbound + 1, 'media on the old TCP path dropped');
    udp.close();
    transport.close();
    peer.close();
  });

  it('a peer that stops reading loses RTP (counted) at a bounded backlog, keeps RTCP, and another peer of the worker keeps flowing', async () => {
    const { peer, transport } = await connectTcp();
    peer.socket.pause();
    const stats = endpoint.tcp!.stats;
    const rtpDroppedBefore = stats.rtpDropped;
    let sent = 0;
    // Bounded: 40 MB is far past loopback's socket buffers (a few MB) plus our 256 KiB bound.
    while (stats.rtpDropped === rtpDroppedBefore && sent < 35_000) {
      for (let i = 0; i < 64; i++) transport.sendRtp(rtp(++sent, 0xf00d, 1150));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(stats.rtpDropped > rtpDroppedBefore, `no drop after ${sent} packets`);
    const rtcpSent = stats.framesSent;
    const otherDropped = stats.otherDropped;
    transport.sendRtcp(receiverReport());
    assert.equal(stats.framesSent, rtcpSent + 1, 'RTCP still goes out');
    assert.equal(stats.otherDropped, otherDropped);
    // The backlog does not grow: every further RTP packet is dropped while the peer reads nothing.
    const dropped = stats.rtpDropped;
    for (let i = 0; i < 1000; i++) transport.sendRtp(rtp(++sent, 0xf00d, 1150));
    assert.equal(stats.rtpDropped, dropped + 1000);
    // The same worker still serves another peer.
    const other = await connectTcp();
    other.transport.sendRtp(rtp(1, 0xbeef));
    await until(() => other.peer.received.length === 1, 'RTP to the other peer');
    other.transport.close();
    other.peer.close();
    transport.close();
    peer.close();
  });

  it('sfu dump counters: open connections, framing errors and drops', () => {
    const dump = endpoint.tcp!.dump();
    assert.equal(typeof dump.connections, 'number');
    assert.ok(dump.framingErrors >= 2);
    assert.ok(dump.rtpDropped > 0);
  });
});

/** Resolves once a connection to host:port is refused (nothing listens there). */
function refused(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// Needs the IPv6 loopback: without it the file fails saying so (no silent skip).
describe('ICE-TCP over IPv6: an IPv6-only listener beside the IPv4 one', { timeout: 60_000 }, () => {
  let serverCert: DtlsCertificate;
  let peerCert: DtlsCertificate;
  let endpoint: UdpEndpoint;
  before(async () => {
    [serverCert, peerCert] = await certificatePair();
    endpoint = loopbackUdpEndpoint(serverCert, { ipv6: true });
    try {
      await endpoint.bind(0, '127.0.0.1', '::1');
      await endpoint.listenTcp(0, '127.0.0.1', '::1');
    } catch (err) {
      throw new Error(
        `these tests need the IPv6 loopback ::1 (ip -6 addr show lo): ${(err as Error).message}`,
      );
    }
  });
  after(() => endpoint.close());

  it('a transport announces a passive IPv6 TCP candidate, below the IPv4 TCP one and every UDP one', () => {
    const t = endpoint.createTransport();
    assert.deepEqual(
      t.localParameters.candidates.map((c) => [c.protocol, c.ip, c.port, c.priority, c.tcpType]),
      [
        ['udp', '127.0.0.1', endpoint.port, candidatePriority(126, 65_535), undefined],
        ['udp', '::1', endpoint.port6, candidatePriority(126, 65_534), undefined],
        ['tcp', '127.0.0.1', endpoint.tcp!.port, candidatePriority(126, 40_959), 'passive'],
        ['tcp', '::1', endpoint.tcp!.port6, candidatePriority(126, 40_958), 'passive'],
      ],
    );
    assert.ok(endpoint.tcp!.port6 > 0);
    t.close();
  });

  it('a framed STUN binding from ::1 is answered on that connection (its IPv6 address mapped); DTLS and SRTP follow', async () => {
    const transport = endpoint.createTransport();
    const peer = new TcpPeer(endpoint.tcp!.port6, '::1');
    await peer.connected();
    await checkConnectivity(peer, transport, peerCert);
    assert.deepEqual(peer.mapped[0], {
      address: '0:0:0:0:0:0:0:1',
      port: peer.socket.localPort,
      family: 'IPv6',
    });
    const selected = transport.agent.selected;
    assert.ok(selected?.stream, 'the IPv6 TCP connection is the selected path');
    assert.deepEqual([selected.address, selected.family], ['::1', 'IPv6']);
    await completeDtls(peer, transport, peerCert, serverCert);
    const got: Buffer[] = [];
    transport.onRtp = (p) => got.push(Buffer.from(p));
    peer.sendFramed(protect(peer.send!, rtp(1, 0xaaaa)));
    await until(() => got.length === 1, 'RTP at the server');
    transport.sendRtp(rtp(1, 0xbbbb));
    await until(() => peer.received.length === 1, 'RTP at the peer');
    transport.close();
    await peer.closed;
    peer.close();
  });

  it('on a port in use on IPv6 it fails naming [address]:port and frees the IPv4 port; then both take that number, and close() ends both', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ port: 0, host: '::1', ipv6Only: true }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const other = loopbackUdpEndpoint(serverCert, { ipv6: true });
    await other.bind(0, '127.0.0.1', '::1');
    try {
      await assert.rejects(other.listenTcp(port, '127.0.0.1', '::1'), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(`IPv6 ICE-TCP listener could not bind \\[::1\\]:${port} \\(.*EADDRINUSE`),
        );
        assert.match(err.message, /ICE_IPV6_ENABLED=false/);
        return true;
      });
      assert.equal(other.tcp, undefined);
      assert.ok(await refused(port, '127.0.0.1'), 'the IPv4 listener was closed again');
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      await other.listenTcp(port, '127.0.0.1', '::1');
      assert.deepEqual([other.tcp!.port, other.tcp!.port6], [port, port]);
      assert.ok(!(await refused(port, '::1')) && !(await refused(port, '127.0.0.1')), 'both listen');
    } finally {
      blocker.close();
      other.close();
    }
    assert.ok(await refused(port, '::1'), 'the IPv6 listener is closed');
    assert.ok(await refused(port, '127.0.0.1'), 'the IPv4 listener is closed');
  });
});
