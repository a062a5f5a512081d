import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import {
  checkConnectivity,
  completeDtls,
  protect,
  rtp,
  ScriptedPeer,
  until,
} from '../../test/fakes/scripted-peer.ts';
import { bindingRequest } from '../../test/fakes/stun-request.ts';
import { certificatePair, loopbackUdpEndpoint } from '../../test/support/loopback-endpoint.ts';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls/dtls-certificate.ts';
import { StunType } from './ice/stun.ts';
import { nativeAddon, setNativeEnabled } from './srtp/native-addon.ts';
import { UdpEndpoint } from './udp-endpoint.ts';
import type { WebRtcTransport } from './webrtc-transport.ts';

/** A scripted remote peer: ICE-controlling checks, DTLS client, SRTP, over its own UDP socket. */
class TestPeer extends ScriptedPeer {
  /** The peer's own address, also where it sends to (the endpoint bound on loopback). */
  readonly host: string;
  readonly socket: dgram.Socket;
  #port = 0;

  constructor(host = '127.0.0.1') {
    super('peer', 'peer-password-0123456789');
    this.host = host;
    this.socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  }

  async open(serverPort: number): Promise<void> {
    this.#port = serverPort;
    await new Promise<void>((resolve) => this.socket.bind(0, this.host, resolve));
    this.socket.on('message', (msg) => this.handle(msg));
  }

  sendRaw(buf: Buffer): void {
    this.socket.send(buf, this.#port, this.host);
  }

  protected transmit(packet: Buffer): void {
    this.sendRaw(packet);
  }

  close(): void {
    this.dtls?.close();
    this.socket.close();
  }
}

/** A scripted peer that completed ICE and DTLS with a new transport of `endpoint`. */
async function connect(
  endpoint: UdpEndpoint,
  serverCert: DtlsCertificate,
  peerCert: DtlsCertificate,
  host = '127.0.0.1',
): Promise<{ peer: TestPeer; transport: WebRtcTransport }> {
  const transport = endpoint.createTransport();
  const peer = new TestPeer(host);
  await peer.open(host.includes(':') ? endpoint.port6 : endpoint.port);
  await checkConnectivity(peer, transport, peerCert);
  await completeDtls(peer, transport, peerCert, serverCert);
  return { peer, transport };
}

describe('UdpEndpoint + WebRtcTransport over loopback UDP', () => {
  let serverCert: DtlsCertificate;
  let peerCert: DtlsCertificate;
  let endpoint: UdpEndpoint;
  before(async () => {
    [serverCert, peerCert] = await certificatePair();
    endpoint = loopbackUdpEndpoint(serverCert);
    await endpoint.bind(0, '127.0.0.1');
  });
  after(() => endpoint.close());

  const connectedPair = () => connect(endpoint, serverCert, peerCert);

  it('bind() grows the receive buffer past the kernel default (2 MB as root, else up to rmem_max)', async () => {
    const plain = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => plain.bind(0, '127.0.0.1', resolve));
    const defaultBytes = plain.getRecvBufferSize();
    plain.close();
    // SO_RCVBUFFORCE (the native addon, as root) goes past net.core.rmem_max; otherwise it caps.
    const forced = process.getuid?.() === 0 && nativeAddon()?.setReceiveBuffer !== undefined;
    if (forced)
      assert.ok(endpoint.receiveBufferBytes >= 2 * 1024 * 1024, `${endpoint.receiveBufferBytes} bytes`);
    else assert.ok(endpoint.receiveBufferBytes >= defaultBytes, `${endpoint.receiveBufferBytes} bytes`);
  });

  it('local parameters carry ICE-lite credentials, the fingerprint and a host candidate on the bound port', () => {
    const t = endpoint.createTransport();
    const local = t.localParameters;
    assert.equal(local.iceLite, true);
    assert.equal(local.fingerprint.value, serverCert.fingerprint);
    assert.deepEqual(
      local.candidates.map((c) => [c.ip, c.port, c.type]),
      [['127.0.0.1', endpoint.port, 'host']],
    );
    t.close();
  });

  it('ICE → DTLS → SRTP: RTP flows both ways, decrypted', async () => {
    const { peer, transport } = await connectedPair();
    const got: Buffer[] = [];
    transport.onRtp = (p) => got.push(Buffer.from(p));
    for (let seq = 1; seq <= 20; seq++) peer.sendRaw(protect(peer.send!, rtp(seq, 0xaaaa)));
    await until(() => got.length === 20, '20 packets at the server');
    assert.deepEqual(got[4], rtp(5, 0xaaaa));
    for (let seq = 1; seq <= 20; seq++) transport.sendRtp(rtp(seq, 0xbbbb));
    await until(() => peer.received.length === 20, '20 packets at the peer');
    assert.deepEqual(peer.received[19], rtp(20, 0xbbbb));
    assert.equal(transport.stats.rtpPacketsReceived, 20);
    assert.equal(transport.stats.rtpPacketsSent, 20);
    transport.close();
    peer.close();
  });

  it('wrong ICE password: 401, no DTLS, nothing routed', async () => {
    const transport = endpoint.createTransport();
    const peer = new TestPeer();
    await peer.open(endpoint.port);
    peer.check(transport.agent.localUfrag, 'not-the-password-000000');
    await until(() => peer.stunResponses.length === 1, 'a response');
    assert.deepEqual(peer.stunResponses, [StunType.BindingError]);
    assert.equal(transport.state, 'new');
    transport.close();
    peer.close();
  });

  it('garbage of every kind is dropped and counted; a connected transport keeps working', async () => {
    const { peer, transport } = await connectedPair();
    const before = { ...endpoint.stats };
    const droppedBefore = transport.stats.packetsDropped;
    const stranger = new TestPeer();
    await stranger.open(endpoint.port);
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0x00]),
      Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, ...Array(12).fill(0)]),
      bindingRequest('unknown:peer', 'x'),
      Buffer.from([0x16, 0xfe, 0xfd]),
      Buffer.alloc(200, 0x80),
      Buffer.alloc(1500, 0xff),
    ];
    for (const j of junk) stranger.sendRaw(j);
    // From the connected peer's own address: truncated and forged SRTP/SRTCP, bogus DTLS.
    const forged = [
      Buffer.alloc(5, 0x80),
      Buffer.from([0x80, 96, ...Array(40).fill(1)]),
      Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 1, ...Array(20).fill(0)]),
      Buffer.from([0x17, 0xfe, 0xfd, 0, 0, 0]),
    ];
    for (const f of forged) peer.sendRaw(f);
    const got: Buffer[] = [];
    transport.onRtp = (p) => got.push(Buffer.from(p));
    for (let seq = 100; seq < 110; seq++) peer.sendRaw(protect(peer.send!, rtp(seq, 1)));
    await until(() => got.length === 10, 'the real packets after the junk');
    assert.ok(endpoint.stats.unknownAddress > before.unknownAddress, 'packets from a stranger counted');
    assert.ok(endpoint.stats.unknownUsername > before.unknownUsername, 'unknown ufrag counted');
    assert.ok(endpoint.stats.malformed > before.malformed, 'malformed STUN counted');
    assert.ok(transport.stats.packetsDropped >= droppedBefore + 3, 'forged SRTP/SRTCP counted');
    assert.equal(transport.state, 'connected');
    transport.close();
    peer.close();
    stranger.close();
  });

  it('close() stops routing: later datagrams from that address are unknown', async () => {
    const { peer, transport } = await connectedPair();
    const states: string[] = [];
    transport.onStateChange = (s, reason) => states.push(`${s}:${reason}`);
    transport.close();
    assert.deepEqual(states, ['closed:closed']);
    const before = endpoint.stats.unknownAddress;
    peer.sendRaw(protect(peer.send!, rtp(1, 1)));
    await until(() => endpoint.stats.unknownAddress > before, 'the datagram counted as unknown');
    peer.close();
  });
});

describe('ICE restart', () => {
  it('new remote credentials give the transport new local ones; checks with the old ones fail, the new ones work', async () => {
    const [serverCert, peerCert] = await certificatePair();
    const endpoint = loopbackUdpEndpoint(serverCert);
    await endpoint.bind(0, '127.0.0.1');
    const transport = endpoint.createTransport();
    const peer = new TestPeer();
    await peer.open(endpoint.port);
    try {
      const remote = {
        iceUfrag: peer.ufrag,
        icePwd: peer.pwd,
        fingerprints: [{ algorithm: 'sha-256', value: peerCert.fingerprint }],
        setup: 'active' as const,
      };
      transport.setRemoteParameters(remote);
      const [oldUfrag, oldPwd] = [transport.agent.localUfrag, transport.agent.localPwd];
      peer.check(oldUfrag, oldPwd);
      await until(() => peer.stunResponses.length === 1, 'first response');
      transport.setRemoteParameters({ ...remote, iceUfrag: 'peer2' });
      assert.notEqual(transport.agent.localUfrag, oldUfrag);
      peer.sendRaw(bindingRequest(`${oldUfrag}:peer2`, oldPwd));
      peer.sendRaw(bindingRequest(`${transport.agent.localUfrag}:peer2`, transport.agent.localPwd));
      await until(() => peer.stunResponses.length === 2, 'a response to the new credentials');
      assert.deepEqual(peer.stunResponses, [StunType.BindingSuccess, StunType.BindingSuccess]);
      assert.ok(endpoint.stats.unknownUsername >= 1, 'the old fragment is no longer known');
    } finally {
      peer.close();
      endpoint.close();
    }
  });
});

describe('consent freshness (RFC 7675) with a configured timeout', () => {
  it('a peer that stops its checks is closed with consent_timeout once the timeout passed; one that keeps checking stays', async () => {
    const [serverCert, peerCert] = await certificatePair();
    const consentTimeoutMs = 1500;
    const endpoint = new UdpEndpoint({
      certificate: serverCert,
      announcedIps: ['127.0.0.1'],
      consentTimeoutMs,
    });
    await endpoint.bind(0, '127.0.0.1');
    const silent = await connect(endpoint, serverCert, peerCert);
    const alive = await connect(endpoint, serverCert, peerCert);
    const keepChecking = setInterval(
      () => alive.peer.check(alive.transport.agent.localUfrag, alive.transport.agent.localPwd),
      250,
    );
    try {
      const lastCheckMs = silent.transport.agent.lastCheckMs;
      const closed = Promise.withResolvers<{ reason: string | undefined; atMs: number }>();
      silent.transport.onStateChange = (state, reason) => {
        if (state === 'closed') closed.resolve({ reason, atMs: Date.now() });
      };
      const aliveStates: string[] = [];
      alive.transport.onStateChange = (state, reason) => aliveStates.push(`${state}:${reason}`);
      const { reason, atMs } = await closed.promise;
      assert.equal(reason, 'consent_timeout');
      assert.ok(atMs - lastCheckMs > consentTimeoutMs, 'not before the configured timeout');
      assert.equal(endpoint.transportCount, 1, 'the silent transport is forgotten');
      assert.equal(alive.transport.state, 'connected');
      assert.deepEqual(aliveStates, []);
    } finally {
      clearInterval(keepChecking);
      silent.peer.close();
      alive.peer.close();
      endpoint.close();
    }
  });
});

describe('sending: batched sendmmsg with the native addon, dgram without', () => {
  for (const native of nativeAddon() ? [true, false] : [false]) {
    it(`${native ? 'sendmmsg' : 'dgram'}: a fan-out burst arrives whole and in order, RTP and RTCP, and a name is sent too`, async () => {
      setNativeEnabled(native);
      const [serverCert, peerCert] = await certificatePair();
      const endpoint = loopbackUdpEndpoint(serverCert);
      try {
        await endpoint.bind(0, '127.0.0.1');
        assert.equal(endpoint.sendPath, native ? 'sendmmsg' : 'dgram');
        const { peer, transport } = await connect(endpoint, serverCert, peerCert);
        const rtcp: Buffer[] = [];
        peer.socket.on('message', (m) => {
          if (m[0]! >= 128 && m[1] === 200) {
            const copy = Buffer.from(m);
            const n = peer.receive!.unprotectRtcp(copy);
            if (typeof n === 'number') rtcp.push(copy.subarray(0, n));
          }
        });
        const before = { ...endpoint.stats };
        // 150 packets in one go: more than the queue holds, so it flushes when full and at the end.
        for (let seq = 1; seq <= 150; seq++) transport.sendRtp(rtp(seq, 0xcccc));
        const sr = Buffer.alloc(28, 0xab);
        sr[0] = 0x80;
        sr[1] = 200;
        sr.writeUInt16BE(6, 2);
        sr.writeUInt32BE(0xcccc, 4);
        transport.sendRtcp(sr);
        await until(() => peer.received.length === 150 && rtcp.length === 1, 'the burst at the peer');
        assert.deepEqual(
          peer.received.map((p) => p.readUInt16BE(2)),
          Array.from({ length: 150 }, (_, i) => i + 1),
        );
        assert.deepEqual(peer.received[149], rtp(150, 0xcccc));
        assert.deepEqual(rtcp[0], sr);
        const sent = endpoint.stats.datagramsSent - before.datagramsSent;
        const calls = endpoint.stats.sendCalls - before.sendCalls;
        assert.equal(sent, 151);
        if (native) assert.ok(calls <= 4, `${calls} sendmmsg calls for 151 datagrams`);
        else assert.equal(calls, 151);
        assert.equal(endpoint.stats.sendErrors, 0);
        // An address that is no IP literal is no queue slot's: it goes through dgram (which resolves it).
        const got = Promise.withResolvers<Buffer>();
        peer.socket.once('message', (m) => got.resolve(m));
        endpoint.send(Buffer.from([0x16, 1, 2, 3]), {
          address: 'localhost',
          port: peer.socket.address().port,
          family: 'IPv4',
        });
        assert.deepEqual(await got.promise, Buffer.from([0x16, 1, 2, 3]));
        transport.close();
        peer.close();
      } finally {
        endpoint.close();
        setNativeEnabled(process.env.BBMEET_NATIVE !== '0');
      }
    });
  }

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
