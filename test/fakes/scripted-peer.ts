import assert from 'node:assert/strict';
import type { DtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession, type SrtpKeys } from '../../src/transport/dtls/dtls-session.ts';
import { parseStun, StunType, stunXorMappedAddress } from '../../src/transport/ice/stun.ts';
import type { TransportAddress } from '../../src/transport/ice/stun-address.ts';
import { SrtpSession } from '../../src/transport/srtp/srtp-session.ts';
import type { WebRtcTransport } from '../../src/transport/webrtc-transport.ts';
import { bindingRequest } from './stun-request.ts';

/**
 * A scripted remote peer of a WebRtcTransport, whatever carries its packets (a UDP socket, an
 * ICE-TCP connection): ICE-controlling checks, the DTLS client, SRTP both ways, and what it
 * received. A subclass sends a packet as its transport carries it (`transmit`) and hands each
 * packet it receives to `handle`.
 */
export abstract class ScriptedPeer {
  readonly ufrag: string;
  readonly pwd: string;
  readonly stunResponses: number[] = [];
  /** XOR-MAPPED-ADDRESS of each success response: where the server saw us. */
  readonly mapped: TransportAddress[] = [];
  readonly received: Buffer[] = [];
  dtls: DtlsSession | undefined;
  send: SrtpSession | undefined;
  receive: SrtpSession | undefined;

  constructor(ufrag: string, pwd: string) {
    this.ufrag = ufrag;
    this.pwd = pwd;
  }

  /** Sends one packet to the server. */
  protected abstract transmit(packet: Buffer): void;

  check(serverUfrag: string, serverPwd: string, useCandidate = true): void {
    this.transmit(bindingRequest(`${serverUfrag}:${this.ufrag}`, serverPwd, { useCandidate }));
  }

  startDtls(certificate: DtlsCertificate, serverFingerprint: string): Promise<SrtpKeys> {
    const done = Promise.withResolvers<SrtpKeys>();
    this.dtls = new DtlsSession({
      certificate,
      role: 'client',
      remoteFingerprints: [serverFingerprint],
      send: (d) => this.transmit(d),
      onConnected: (keys) => {
        this.send = new SrtpSession(keys.profile, keys.localKey, keys.localSalt);
        this.receive = new SrtpSession(keys.profile, keys.remoteKey, keys.remoteSalt);
        done.resolve(keys);
      },
      onFailed: (r) => done.reject(new Error(r)),
    });
    this.dtls.start();
    return done.promise;
  }

  /** One packet from the server: STUN, DTLS or SRTP (RFC 7983's first byte). */
  protected handle(msg: Buffer): void {
    const first = msg[0]!;
    if (first < 4) {
      const stun = parseStun(msg);
      if (stun) this.stunResponses.push(stun.type);
      const mapped = stun && stunXorMappedAddress(stun);
      if (mapped) this.mapped.push(mapped);
    } else if (first >= 20 && first <= 63) this.dtls?.handle(msg);
    else if (first >= 128 && this.receive) {
      const length = this.receive.unprotectRtp(msg);
      if (typeof length === 'number') this.received.push(msg.subarray(0, length));
    }
  }
}

/**
 * Gives `transport` the peer's ICE credentials and fingerprint (the peer is the DTLS client), then
 * sends a check: resolves once it is answered with a success.
 */
export async function checkConnectivity(
  peer: ScriptedPeer,
  transport: WebRtcTransport,
  peerCert: DtlsCertificate,
): Promise<void> {
  transport.setRemoteParameters({
    iceUfrag: peer.ufrag,
    icePwd: peer.pwd,
    fingerprints: [{ algorithm: 'sha-256', value: peerCert.fingerprint }],
    setup: 'active',
  });
  peer.check(transport.agent.localUfrag, transport.agent.localPwd);
  await until(() => peer.stunResponses.includes(StunType.BindingSuccess), 'binding success');
}

/** The DTLS handshake after the checks: resolves once `transport` is connected. */
export async function completeDtls(
  peer: ScriptedPeer,
  transport: WebRtcTransport,
  peerCert: DtlsCertificate,
  serverCert: DtlsCertificate,
): Promise<void> {
  await peer.startDtls(peerCert, serverCert.fingerprint);
  await until(() => transport.state === 'connected', 'transport connected');
}

/** A plain RTP packet (payload type 96) of `bytes` bytes, its payload filled with the sequence's low byte. */
export function rtp(seq: number, ssrc: number, bytes = 112): Buffer {
  const p = Buffer.alloc(bytes, seq & 0xff);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(seq * 3000, 4);
  p.writeUInt32BE(ssrc, 8);
  return p;
}

/** A receiver report (RFC 3550 §6.4.2) with no report blocks. */
export function receiverReport(): Buffer {
  return Buffer.from([0x80, 201, 0x00, 0x01, 0x00, 0x00, 0x12, 0x34]);
}

/** `packet` protected by `session` into a fresh buffer. */
export function protect(session: SrtpSession, packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + session.rtpOverheadBytes);
  assert.equal(session.protectRtp(packet, out), out.length);
  return out;
}

/** Polls `check` every 10 ms until true, or fails naming `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
