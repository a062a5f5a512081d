import assert from 'node:assert/strict';
import net from 'node:net';
import type { DtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../../src/transport/dtls/dtls-session.ts';
import { parseStun, stunXorMappedAddress } from '../../src/transport/ice/stun.ts';
import type { TransportAddress } from '../../src/transport/ice/stun-address.ts';
import { FrameReader, frame } from '../../src/transport/ice-tcp/rfc4571-framing.ts';
import { SrtpSession } from '../../src/transport/srtp/srtp-session.ts';
import { bindingRequest } from './stun-request.ts';

/** A scripted ICE-TCP peer (RFC 6544 active side): checks, DTLS client and SRTP over RFC 4571 frames. */
export class TcpPeer {
  readonly ufrag = 'tcppeer';
  readonly pwd = 'tcp-peer-password-012345';
  readonly socket: net.Socket;
  readonly stunResponses: number[] = [];
  /** XOR-MAPPED-ADDRESS of each success response: where the server saw us. */
  readonly mapped: TransportAddress[] = [];
  readonly received: Buffer[] = [];
  dtls: DtlsSession | undefined;
  send: SrtpSession | undefined;
  receive: SrtpSession | undefined;
  readonly closed: Promise<void>;
  readonly #reader = new FrameReader((f) => this.#onFrame(Buffer.from(f)));

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect(port, host);
    this.socket.on('data', (chunk: Buffer) => this.#reader.push(chunk));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  /** Resolves once connected; rejects when the connection fails (refused, nothing there). */
  async connected(): Promise<void> {
    if (this.socket.readyState !== 'open')
      await new Promise((resolve, reject) => {
        this.socket.once('connect', resolve);
        this.socket.once('error', reject);
      });
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
      const mapped = stun && stunXorMappedAddress(stun);
      if (mapped) this.mapped.push(mapped);
    } else if (first >= 20 && first <= 63) this.dtls?.handle(msg);
    else if (first >= 128 && this.receive) {
      const length = this.receive.unprotectRtp(msg);
      if (typeof length === 'number') this.received.push(msg.subarray(0, length));
    }
  }
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
