// The transport of a protocol-level load peer: one UDP socket, a tiny ICE agent (controlling,
// nominates the first candidate with USE-CANDIDATE, answers the remote's checks), DTLS via
// werift-dtls (client or server as the SDP says) and the project's SrtpSession. In `raw` mode
// there is no ICE, DTLS or SRTP: RTP goes as is to a plain UDP forwarder (the baseline). In `tcp`
// mode the same datagrams go over one ICE-TCP connection (RFC 6544, active side) to the server's
// passive candidate, each behind its RFC 4571 length.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { DtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { DtlsSession } from '../src/transport/dtls/dtls-session.ts';
import { buildBindingSuccess, parseStun, StunType } from '../src/transport/ice/stun.ts';
import { SrtpSession } from '../src/transport/srtp/srtp-session.ts';
import { bindingRequest } from '../test/fakes/stun-request.ts';
import type { LocalIce, RemoteDescriptionInfo } from './sdp.ts';
import { encodeTcpFrame, TcpFrameDecoder } from './tcp-framing.ts';

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
  /** 'udp' (default), or 'tcp': ICE-TCP to the remote's passive TCP candidate. */
  transport?: 'udp' | 'tcp' | undefined;
}

type Address = { ip: string; port: number };

/**
 * Lifecycle: created → `bind()` → `connect(remote)` (ICE + DTLS) or `connectRaw(address)` →
 * sending → `close()`. In tcp mode a framing or stream error (or the server closing) closes it.
 */
export class PeerLink {
  readonly local: LocalIce;
  readonly #options: PeerLinkOptions;
  /** The UDP socket (udp mode) or the ICE-TCP connection (tcp mode, once connect() opened it). */
  readonly #socket: dgram.Socket | undefined;
  #stream: net.Socket | undefined;
  #remote: Address | undefined;
  #dtls: DtlsSession | undefined;
  #srtpOut: SrtpSession | undefined;
  /** Inbound SRTP/SRTCP context (receivers decrypt a sample with it). */
  srtpIn: SrtpSession | undefined;
  #consentTimer: NodeJS.Timeout | undefined;
  #iceResolved: (() => void) | undefined;
  #closed = false;
  sendErrors = 0;
  /** tcp mode: the connection failed, was closed by the server, or broke the framing. */
  streamErrors = 0;
  /** Our DTLS role once connect() began: it picks the data channels' stream ids (RFC 8832 §6). */
  dtlsRole: 'client' | 'server' | undefined;
  /** DTLS application data (SCTP packets of the data channels), once connected. */
  onAppData: ((data: Buffer) => void) | undefined;
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
    if (options.transport === 'tcp') return;
    const socket = dgram.createSocket('udp4');
    this.#socket = socket;
    socket.on('message', (m, rinfo) => this.#onMessage(m, { ip: rinfo.address, port: rinfo.port }));
    socket.on('error', () => {
      this.sendErrors++;
    });
  }

  /** Binds the UDP socket on loopback (tcp mode: nothing to bind, the port comes with connect). */
  async bind(): Promise<number> {
    const socket = this.#socket;
    if (!socket) return 0;
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // Room for bursts while the load process is busy elsewhere (the kernel caps it at rmem_max).
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    return socket.address().port;
  }

  /** Plain RTP to a forwarder (no ICE, DTLS or SRTP). */
  connectRaw(address: Address): void {
    this.#remote = address;
  }

  /** ICE check (nominating) to the remote's first candidate, then DTLS; resolves with SRTP ready. */
  async connect(remote: RemoteDescriptionInfo): Promise<void> {
    const tcp = this.#options.transport === 'tcp';
    const target = tcp ? remote.tcpCandidates[0] : remote.candidates[0];
    if (!target) throw new Error(`the remote SDP has no ${tcp ? 'passive TCP' : 'UDP'} host candidate`);
    const startedMs = performance.now();
    if (tcp) await this.#openStream(target);
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
      onData: (d) => this.onAppData?.(d),
    });
    this.dtlsRole = role;
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

  /** Sends DTLS application data (an SCTP packet); nothing before DTLS is up. */
  sendAppData(data: Buffer): void {
    if (!this.#closed) this.#dtls?.sendData(data);
  }

  /** A datagram as is (raw mode: the subscription hello to the forwarder). */
  sendDatagram(datagram: Buffer): void {
    this.#send(datagram);
  }

  /**
   * Connects to the server's passive candidate (RFC 6544 §5.1: we are the active side); resolves
   * once connected. Writes of one tick are corked and leave together, as the server does.
   */
  async #openStream(target: Address): Promise<void> {
    const stream = net.connect({ host: target.ip, port: target.port, noDelay: true });
    this.#stream = stream;
    const decoder = new TcpFrameDecoder((frame) => this.#onMessage(frame, target));
    stream.on('data', (chunk: Buffer) => {
      if (!decoder.push(chunk)) this.#streamFailed();
    });
    stream.on('error', () => this.#streamFailed());
    // Why: the server closing a connection we still use is a failure; our own close() is not.
    stream.on('close', () => this.#streamFailed());
    await new Promise<void>((resolve, reject) => {
      stream.once('connect', resolve);
      stream.once('error', reject);
    });
  }

  #streamFailed(): void {
    if (this.#closed) return;
    this.streamErrors++;
    this.close();
  }

  #send(datagram: Buffer): void {
    if (!this.#remote || this.#closed) return;
    if (this.#stream) this.#write(this.#stream, datagram);
    else
      this.#socket!.send(datagram, this.#remote.port, this.#remote.ip, (err) => {
        if (err) this.sendErrors++;
      });
  }

  #write(stream: net.Socket, datagram: Buffer): void {
    if (!stream.writableCorked) {
      stream.cork();
      queueMicrotask(() => stream.uncork());
    }
    stream.write(encodeTcpFrame(datagram));
  }

  /** A datagram from `from` (the UDP sender, or the TCP connection's remote end). */
  #onMessage(m: Buffer, from: Address): void {
    const first = m[0]!;
    if (first < 4) {
      const msg = parseStun(m);
      if (!msg) return;
      if (msg.type === StunType.BindingSuccess) this.#iceResolved?.();
      else if (msg.type === StunType.BindingRequest) {
        const reply = buildBindingSuccess(msg.transactionId, from.ip, from.port, 'IPv4', this.local.pwd);
        if (this.#stream) this.#write(this.#stream, reply);
        else this.#socket!.send(reply, from.port, from.ip);
      }
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
    this.#socket?.close();
    this.#stream?.destroy();
  }
}
