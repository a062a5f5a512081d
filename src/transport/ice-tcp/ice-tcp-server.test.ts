import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bindingRequest } from '../../../test/fakes/stun-request.ts';
import { type DtlsCertificate, generateDtlsCertificate } from '../dtls/dtls-certificate.ts';
import { DtlsSession } from '../dtls/dtls-session.ts';
import { parseStun, StunType } from '../ice/stun.ts';
import { SrtpSession } from '../srtp/srtp-session.ts';
import { UdpEndpoint } from '../udp-endpoint.ts';
import type { WebRtcTransport } from '../webrtc-transport.ts';
import { FrameReader, frame } from './rfc4571-framing.ts';

/** A scripted ICE-TCP peer (RFC 6544 active side): checks, DTLS client and SRTP over RFC 4571 frames. */
class TcpPeer {
  readonly ufrag = 'tcppeer';
  readonly pwd = 'tcp-peer-password-012345';
  readonly socket: net.Socket;
  readonly stunResponses: number[] = [];
  readonly received: Buffer[] = [];
  dtls: DtlsSession | undefined;
  send: SrtpSession | undefined;
  receive: SrtpSession | undefined;
  readonly closed: Promise<void>;
  readonly #reader = new FrameReader((f) => this.#onFrame(Buffer.from(f)));

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => this.#reader.push(chunk));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  async connected(): Promise<void> {
    if (this.socket.readyState !== 'open')
      await new Promise((resolve) => this.socket.once('connect', resolve));
  }

  sendFramed(packet: Buffer): void {
    this.socket.write(frame(packet)!);
  }

  check(serverUfrag: string, serverPwd: string, useCandidate = true): void {
    this.sendFramed(bindingRequest(`${serverUfrag}:${this.ufrag}`, serverPwd, { useCandidate }));
  }

  startDtls(certificate: DtlsCertificate, serverFingerprint: string): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.dtls = new DtlsSession({
      certificate,
      role: 'client',
      remoteFingerprints: [serverFingerprint],
      send: (d) => this.sendFramed(d),
      onConnected: (keys) => {
        this.send = new SrtpSession(keys.profile, keys.localKey, keys.localSalt);
        this.receive = new SrtpSession(keys.profile, keys.remoteKey, keys.remoteSalt);
        done.resolve();
      },
      onFailed: (r) => done.reject(new Error(r)),
    });
    this.dtls.start();
    return done.promise;
  }

  close(): void {
    this.dtls?.close();
    this.socket.destroy();
  }

  #onFrame(msg: Buffer): void {
    const first = msg[0]!;
    if (first < 4) {
      const stun = parseStun(msg);
      if (stun) this.stunResponses.push(stun.type);
    } else if (first >= 20 && first <= 63) this.dtls?.handle(msg);
    else if (first >= 128 && this.receive) {
      const length = this.receive.unprotectRtp(msg);
      if (typeof length === 'number') this.received.push(msg.subarray(0, length));
    }
  }
}

function rtp(seq: number, ssrc: number, bytes = 112): Buffer {
  const p = Buffer.alloc(bytes, seq & 0xff);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(seq * 3000, 4);
  p.writeUInt32BE(ssrc, 8);
  return p;
}

/** A receiver report (RFC 3550 §6.4.2) with no report blocks. */
function receiverReport(): Buffer {
  return Buffer.from([0x80, 201, 0x00, 0x01, 0x00, 0x00, 0x12, 0x34]);
}

function protect(session: SrtpSession, packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + session.rtpOverheadBytes);
  assert.equal(session.protectRtp(packet, out), out.length);
  return out;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Bounded: a handshake that stalls fails the file instead of holding the suite.
describe('ICE-TCP (RFC 6544 passive) on a UdpEndpoint', { timeout: 60_000 }, () => {
  let serverCert: DtlsCertificate;
  let peerCert: DtlsCertificate;
  let endpoint: UdpEndpoint;
  before(async () => {
    [serverCert, peerCert] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
    endpoint = new UdpEndpoint({ certificate: serverCert, announcedIps: ['127.0.0.1'] });
    await endpoint.bind(0, '127.0.0.1');
    await endpoint.listenTcp(0, '127.0.0.1');
  });
  after(() => endpoint.close());

  async function connectTcp(): Promise<{ peer: TcpPeer; transport: WebRtcTransport }> {
    const transport = endpoint.createTransport();
    transport.setRemoteParameters({
      iceUfrag: 'tcppeer',
      icePwd: 'tcp-peer-password-012345',
      fingerprints: [{ algorithm: 'sha-256', value: peerCert.fingerprint }],
      setup: 'active',
    });
    const peer = new TcpPeer(endpoint.tcp!.port);
    await peer.connected();
    peer.check(transport.agent.localUfrag, transport.agent.localPwd);
    await until(() => peer.stunResponses.includes(StunType.BindingSuccess), 'binding success');
    await peer.startDtls(peerCert, serverCert.fingerprint);
    await until(() => transport.state === 'connected', 'transport connected');
    return { peer, transport };
  }

  it('a transport announces a passive TCP candidate on the TCP port beside its UDP one', () => {
    const t = endpoint.createTransport();
    assert.deepEqual(
      t.localParameters.candidates.map((c) => [c.protocol, c.port, c.tcpType]),
      [
        ['udp', endpoint.port, undefined],
        ['tcp', endpoint.tcp!.port, 'passive'],
      ],
    );
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
