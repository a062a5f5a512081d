import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { bindingRequest } from '../../test/fakes/stun-request.ts';
import type { DatagramSender } from './datagram-sender.ts';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls/dtls-certificate.ts';
import { DtlsSession, type SrtpKeys } from './dtls/dtls-session.ts';
import type { RemoteAddress } from './ice/ice-lite-agent.ts';
import { parseStun } from './ice/stun.ts';
import type { TransportState } from './media-transport.ts';
import { WebRtcTransport } from './webrtc-transport.ts';

const PEER: RemoteAddress = { address: '127.0.0.1', port: 40_000, family: 'IPv4' };
const WAIT_MS = 10_000;

/**
 * A subscriber's transport (we offered, a=setup:actpass) and a browser-like peer: it answers
 * a=setup:active and starts DTLS as a client as soon as its check was answered, before its answer
 * reached us. Records go both ways with setImmediate, as over loopback.
 */
function subscriberAndPeer(serverCert: DtlsCertificate, peerCert: DtlsCertificate) {
  let peer: DtlsSession | undefined;
  const toPeer: Buffer[] = [];
  /** Our first DTLS flight left (the handshake is under way). */
  const serverFlight = Promise.withResolvers<void>();
  const sender: DatagramSender<WebRtcTransport> = {
    send: (datagram) => {
      if (datagram[0]! >= 20 && datagram[0]! <= 63) {
        serverFlight.resolve();
        setImmediate(() => peer?.handle(datagram));
      } else toPeer.push(datagram);
    },
    claim: (bytes) => Buffer.alloc(bytes),
    sendClaimed: () => undefined,
    routeFrom: () => undefined,
    reindex: () => undefined,
    forget: () => undefined,
    readArrivalUs: (out: Float64Array) => {
      out[0] = performance.now() * 1000;
    },
  };
  const transport = new WebRtcTransport({
    id: 't1',
    sender,
    certificate: serverCert,
    candidates: [],
    nowMs: Date.now(),
  });
  const states: TransportState[] = [];
  const connected = Promise.withResolvers<void>();
  transport.onStateChange = (state) => {
    states.push(state);
    if (state === 'connected') connected.resolve();
    if (state === 'closed') connected.reject(new Error('transport closed'));
  };
  // A test expecting the transport to close does not await this.
  connected.promise.catch(() => undefined);
  const peerKeys = Promise.withResolvers<SrtpKeys>();
  const startPeer = () => {
    peer = new DtlsSession({
      certificate: peerCert,
      role: 'client',
      remoteFingerprints: [serverCert.fingerprint],
      send: (d) => setImmediate(() => transport.handleDtls(Buffer.from(d))),
      onConnected: (k) => peerKeys.resolve(k),
      onFailed: (r) => peerKeys.reject(new Error(r)),
    });
    peer.start();
  };
  const check = () =>
    transport.handleStun(
      parseStun(bindingRequest(`${transport.agent.localUfrag}:peer`, transport.agent.localPwd))!,
      PEER,
      Date.now(),
    );
  const answer = (fingerprint: string, setup: 'active' | 'passive' = 'active') =>
    transport.setRemoteParameters({
      iceUfrag: 'peer',
      icePwd: 'peerpasswordpeerpassword',
      fingerprints: [{ algorithm: 'sha-256', value: fingerprint }],
      setup,
    });
  return {
    transport,
    states,
    connected: connected.promise,
    peerKeys: peerKeys.promise,
    serverFlight: serverFlight.promise,
    startPeer,
    check,
    answer,
    toPeer,
  };
}

describe('WebRtcTransport: DTLS before the answer', () => {
  let server: DtlsCertificate;
  let peer: DtlsCertificate;
  before(async () => {
    [server, peer] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
  });

  it('issue 17: a ClientHello before the answer starts the handshake; the transport connects when the answer brings the matching fingerprint', async () => {
    const s = subscriberAndPeer(server, peer);
    s.check();
    assert.equal(s.transport.state, 'connecting');
    assert.equal(s.toPeer.length, 1, 'the early check is answered');
    s.startPeer();
    // The peer finishes its handshake without our having its SDP: its keys exist, ours wait.
    await Promise.race([s.peerKeys, timeout('peer handshake')]);
    assert.equal(s.transport.state, 'connecting', 'no keys are used before the fingerprint is checked');
    s.answer(peer.fingerprint);
    await Promise.race([s.connected, timeout('transport connected')]);
    assert.deepEqual(s.states, ['connecting', 'connected']);
    s.transport.close();
  });

  it('an answer whose fingerprint does not match fails the early handshake', async () => {
    const s = subscriberAndPeer(server, peer);
    s.check();
    s.startPeer();
    await Promise.race([s.peerKeys, timeout('peer handshake')]);
    s.answer(`${'AB:'.repeat(31)}AB`);
    assert.equal(s.transport.state, 'closed');
    assert.deepEqual(s.states, ['connecting', 'closed']);
  });

  it('an answer saying a=setup:passive after the peer acted as DTLS client fails the transport', async () => {
    const s = subscriberAndPeer(server, peer);
    s.check();
    s.startPeer();
    await Promise.race([s.peerKeys, timeout('peer handshake')]);
    s.answer(peer.fingerprint, 'passive');
    assert.equal(s.transport.state, 'closed');
  });

  it('an answer arriving mid-handshake: the transport connects when the handshake ends', async () => {
    const s = subscriberAndPeer(server, peer);
    s.check();
    s.startPeer();
    await Promise.race([s.serverFlight, timeout('our first flight')]);
    s.answer(peer.fingerprint);
    await Promise.race([s.connected, timeout('transport connected')]);
    assert.equal(s.transport.state, 'connected');
    s.transport.close();
  });

  it('a later answer (renegotiation) leaves a connected association alone, whatever its a=setup', async () => {
    const s = subscriberAndPeer(server, peer);
    s.check();
    s.startPeer();
    await Promise.race([s.peerKeys, timeout('peer handshake')]);
    s.answer(peer.fingerprint);
    await Promise.race([s.connected, timeout('transport connected')]);
    s.answer(peer.fingerprint, 'passive');
    s.answer(`${'AB:'.repeat(31)}AB`);
    assert.equal(s.transport.state, 'connected');
    s.transport.close();
  });

  it('a DTLS record that is not a ClientHello before the answer is dropped, and starts nothing', () => {
    const s = subscriberAndPeer(server, peer);
    s.check();
    const record = Buffer.alloc(40);
    record[0] = 22;
    record[13] = 2; // ServerHello
    s.transport.handleDtls(record);
    s.transport.handleDtls(Buffer.from([22, 0xfe]));
    // An answer now starts our server side the usual way, with nothing from the peer yet.
    s.answer(peer.fingerprint);
    assert.equal(s.transport.state, 'connecting');
    s.transport.close();
  });
});

function timeout(what: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`${what}: none within ${WAIT_MS} ms`)), WAIT_MS).unref();
  });
}
