// The transport of a protocol-level load peer: one UDP socket, a tiny ICE agent (controlling,
// nominates the first candidate with USE-CANDIDATE, answers the remote's checks), DTLS via
// werift-dtls (client or server as the SDP says) and the project's SrtpSession. In `raw` mode
// there is no ICE, DTLS or SRTP: RTP goes as is to a plain UDP forwarder (the baseline).
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { DtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../src/transport/dtls/dtls-session.ts';
import { buildBindingSuccess, parseStun, StunType } from '../src/transport/ice/stun.ts';
import { SrtpSession } from '../src/transport/srtp/srtp-session.ts';
import { bindingRequest } from '../test/fakes/stun-request.ts';
import type { LocalIce, RemoteDescriptionInfo } from './sdp.ts';

const CHECK_INTERVAL_MS = 50;
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 15_000;
/** Consent freshness (RFC 7675): the server closes a connection whose checks stop. */
const CONSENT_INTERVAL_MS = 4000;

export interface PeerLinkOptions {
  certificate: DtlsCertificate;
  /** RTP (decrypt yourself with `srtpIn` when needed: receivers sample). */
  onRtp: (packet: Buffer) => void;
  /** Decrypted RTCP. */
  onRtcp?: (packet: Buffer) => void;
}

/** Lifecycle: created → `connect(remote)` (ICE + DTLS) or `connectRaw(address)` → sending → `close()`. */
export class PeerLink {
  readonly local: LocalIce;
  readonly #options: PeerLinkOptions;
  readonly #socket = dgram.createSocket('udp4');
  #remote: { ip: string; port: number } | undefined;
  #dtls: DtlsSession | undefined;
  #srtpOut: SrtpSession | undefined;
  /** Inbound SRTP/SRTCP context (receivers decrypt a sample with it). */
  srtpIn: SrtpSession | undefined;
  #consentTimer: NodeJS.Timeout | undefined;
  #iceResolved: (() => void) | undefined;
  #closed = false;
  sendErrors = 0;
  /** ms of the ICE check and of the DTLS handshake (-1 before). */
  iceMs = -1;
  dtlsMs = -1;

  constructor(options: PeerLinkOptions) {
    this.#options = options;
    this.local = {
      // A letter first: an all-digit ufrag reads as a number in SDP parsers built on sdp-transform.
      ufrag: `b${randomBytes(4).toString('hex')}`,
      pwd: randomBytes(16).toString('hex'),
      fingerprint: options.certificate.fingerprint,
    };
    this.#socket.on('message', (m, rinfo) => this.#onMessage(m, rinfo));
    this.#socket.on('error', () => {
      this.sendErrors++;
    });
  }

  async bind(): Promise<number> {
    await new Promise<void>((resolve) => this.#socket.bind(0, '127.0.0.1', resolve));
    // Room for bursts while the load process is busy elsewhere (the kernel caps it at rmem_max).
    this.#socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    return this.#socket.address().port;
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Plain RTP to a forwarder (no ICE, DTLS or SRTP). */
  connectRaw(address: { ip: string; port: number }): void {
    this.#remote = address;
  }

  /** ICE check (nominating) to the remote's first candidate, then DTLS; resolves with SRTP ready. */
  async connect(remote: RemoteDescriptionInfo): Promise<void> {
    const target = remote.candidates[0]!;
    const startedMs = performance.now();
    this.#remote = target;
    const request = () =>
      bindingRequest(`${remote.ufrag}:${this.local.ufrag}`, remote.pwd, { winsConflicts: true });
    const iced = new Promise<void>((resolve) => {
      this.#iceResolved = resolve;
    });
    const checks = setInterval(() => this.#send(request()), CHECK_INTERVAL_MS);
    this.#send(request());
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('ICE/DTLS timed out')), CONNECT_TIMEOUT_MS).unref(),
    );
    try {
      await Promise.race([iced, timeout]);
    } finally {
      clearInterval(checks);
    }
    this.iceMs = performance.now() - startedMs;
    this.#consentTimer = setInterval(() => this.#send(request()), CONSENT_INTERVAL_MS);
    const ready = Promise.withResolvers<void>();
    // The answerer of an actpass offer, or the side facing an active peer, chooses: we are the
    // DTLS client unless the remote said it is active.
    const role = remote.setup === 'active' ? 'server' : 'client';
    this.#dtls = new DtlsSession({
      certificate: this.#options.certificate,
      role,
      remoteFingerprints: [remote.fingerprint],
      send: (d) => this.#send(d),
      onConnected: (k) => {
        this.#srtpOut = new SrtpSession(k.profile, k.localKey, k.localSalt);
        this.srtpIn = new SrtpSession(k.profile, k.remoteKey, k.remoteSalt);
        this.dtlsMs = performance.now() - startedMs - this.iceMs;
        ready.resolve();
      },
      onFailed: (r) => ready.reject(new Error(r)),
    });
    this.#dtls.start();
    await Promise.race([ready.promise, timeout]);
  }

  /** Sends an RTP packet (protected unless raw); returns the bytes sent. */
  sendRtp(packet: Buffer): number {
    if (!this.#remote || this.#closed) return 0;
    const out = this.#srtpOut ? this.#srtpOut.protectRtp(packet, 12) : packet;
    this.#send(out);
    return out.length;
  }

  /** A datagram as is (raw mode: the subscription hello to the forwarder). */
  sendDatagram(datagram: Buffer): void {
    this.#send(datagram);
  }

  #send(datagram: Buffer): void {
    if (!this.#remote || this.#closed) return;
    this.#socket.send(datagram, this.#remote.port, this.#remote.ip, (err) => {
      if (err) this.sendErrors++;
    });
  }

  #onMessage(m: Buffer, rinfo: dgram.RemoteInfo): void {
    const first = m[0]!;
    if (first < 4) {
      const msg = parseStun(m);
      if (!msg) return;
      if (msg.type === StunType.BindingSuccess) this.#iceResolved?.();
      else if (msg.type === StunType.BindingRequest)
        this.#socket.send(
          buildBindingSuccess(msg.transactionId, rinfo.address, rinfo.port, 'IPv4', this.local.pwd),
          rinfo.port,
          rinfo.address,
        );
    } else if (first >= 20 && first <= 63) {
      this.#dtls?.handle(m);
    } else if (first >= 128 && first <= 191) {
      const pt = m[1]! & 0x7f;
      // RFC 5761 §4: payload types 64–95 on the wire are RTCP (200–207 with the marker bit).
      if (pt >= 64 && pt <= 95) {
        if (!this.#options.onRtcp) return;
        if (!this.srtpIn) {
          this.#options.onRtcp(m);
          return;
        }
        const n = this.srtpIn.unprotectRtcp(m);
        if (typeof n === 'number') this.#options.onRtcp(m.subarray(0, n));
      } else this.#options.onRtp(m);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#consentTimer);
    this.#dtls?.close();
    this.#socket.close();
  }
}
