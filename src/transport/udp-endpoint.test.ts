import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { protect, rtp, until } from '../../test/fakes/scripted-peer.ts';
import { bindingRequest } from '../../test/fakes/stun-request.ts';
import { connect, TestPeer } from '../../test/fakes/udp-peer.ts';
import { certificatePair, loopbackUdpEndpoint } from '../../test/support/loopback-endpoint.ts';
import type { DtlsCertificate } from './dtls/dtls-certificate.ts';
import { StunType } from './ice/stun.ts';
import { nativeAddon, setNativeEnabled } from './srtp/native-addon.ts';
import { UdpEndpoint } from './udp-endpoint.ts';

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
});
