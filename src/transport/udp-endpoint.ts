import dgram from 'node:dgram';
import type { DtlsCertificate } from './dtls/dtls-certificate.ts';
import { CONSENT_TIMEOUT_MS, type RemoteAddress } from './ice/ice-lite-agent.ts';
import { looksLikeStun, parseStun, StunType } from './ice/stun.ts';
import type { IceCandidateInfo } from './media-transport.ts';
import { type DatagramSender, WebRtcTransport } from './webrtc-transport.ts';

/** A transport that never received a valid check is dropped after this long (no peer came). */
const CONNECT_TIMEOUT_MS = 30_000;
const HOUSEKEEPING_INTERVAL_MS = 1000;

export interface UdpEndpointStats {
  datagramsReceived: number;
  /** Dropped before reaching a transport: malformed, unknown sender, unknown ufrag. */
  malformed: number;
  unknownAddress: number;
  unknownUsername: number;
}

/**
 * One UDP socket shared by every transport of a media worker (ICE-lite, BUNDLE, rtcp-mux). A
 * datagram is classified by its first byte (RFC 7983): STUN goes to the transport named by the
 * USERNAME's local fragment; DTLS and SRTP go to the transport whose selected address sent it.
 * Anything else, or from an unknown address, is dropped and counted.
 */
export class UdpEndpoint implements DatagramSender {
  readonly stats: UdpEndpointStats = {
    datagramsReceived: 0,
    malformed: 0,
    unknownAddress: 0,
    unknownUsername: 0,
  };
  readonly #socket: dgram.Socket;
  readonly #certificate: DtlsCertificate;
  readonly #announcedIps: string[];
  readonly #byUfrag = new Map<string, WebRtcTransport>();
  /** address → port → transport: two look-ups, no string built per packet. */
  readonly #byAddress = new Map<string, Map<number, WebRtcTransport>>();
  readonly #transports = new Set<WebRtcTransport>();
  readonly #consentTimeoutMs: number;
  #port = 0;
  #nextId = 0;
  #housekeeping: NodeJS.Timeout | undefined;

  constructor(options: {
    certificate: DtlsCertificate;
    announcedIps: string[];
    family?: 'udp4' | 'udp6';
    /** A transport whose peer sent no valid check for this long is closed (default 30 s, RFC 7675). */
    consentTimeoutMs?: number;
  }) {
    this.#certificate = options.certificate;
    this.#announcedIps = options.announcedIps;
    this.#consentTimeoutMs = options.consentTimeoutMs ?? CONSENT_TIMEOUT_MS;
    this.#socket = dgram.createSocket({ type: options.family ?? 'udp4' });
    this.#socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
    // A send to a vanished peer (ICMP unreachable) must not take the worker down.
    this.#socket.on('error', () => undefined);
  }

  get port(): number {
    return this.#port;
  }

  get transportCount(): number {
    return this.#transports.size;
  }

  async bind(port: number, host = '0.0.0.0'): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(port, host, () => {
        this.#socket.off('error', reject);
        resolve();
      });
    });
    this.#port = this.#socket.address().port;
    this.#housekeeping = setInterval(() => this.#checkConsent(Date.now()), HOUSEKEEPING_INTERVAL_MS);
    this.#housekeeping.unref();
  }

  createTransport(): WebRtcTransport {
    const transport = new WebRtcTransport({
      id: `t${++this.#nextId}`,
      sender: this,
      certificate: this.#certificate,
      candidates: this.#candidates(),
      nowMs: Date.now(),
    });
    this.#transports.add(transport);
    this.#byUfrag.set(transport.agent.localUfrag, transport);
    return transport;
  }

  /** After an ICE restart the transport has a new local fragment. */
  reindex(transport: WebRtcTransport, previousUfrag: string): void {
    this.#byUfrag.delete(previousUfrag);
    this.#byUfrag.set(transport.agent.localUfrag, transport);
  }

  send(datagram: Buffer, to: RemoteAddress): void {
    this.#socket.send(datagram, to.port, to.address);
  }

  routeFrom(transport: WebRtcTransport, address: RemoteAddress, previous: RemoteAddress | undefined): void {
    if (previous) this.#byAddress.get(previous.address)?.delete(previous.port);
    let ports = this.#byAddress.get(address.address);
    if (!ports) {
      ports = new Map();
      this.#byAddress.set(address.address, ports);
    }
    ports.set(address.port, transport);
  }

  forget(transport: WebRtcTransport): void {
    this.#transports.delete(transport);
    this.#byUfrag.delete(transport.agent.localUfrag);
    const selected = transport.agent.selected;
    if (selected) {
      const ports = this.#byAddress.get(selected.address);
      if (ports?.get(selected.port) === transport) ports.delete(selected.port);
      if (ports?.size === 0) this.#byAddress.delete(selected.address);
    }
  }

  close(): void {
    clearInterval(this.#housekeeping);
    for (const transport of [...this.#transports]) transport.close('worker_stopped');
    this.#socket.close();
  }

  #onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.datagramsReceived++;
    const first = msg[0] ?? 0xff;
    if (first < 4 && looksLikeStun(msg)) {
      this.#onStun(msg, rinfo);
      return;
    }
    const transport = this.#byAddress.get(rinfo.address)?.get(rinfo.port);
    if (!transport) {
      this.stats.unknownAddress++;
      return;
    }
    if (first >= 20 && first <= 63) transport.handleDtls(msg);
    else if (first >= 128 && first <= 191) transport.handleSrtp(msg);
    else this.stats.malformed++;
  }

  #onStun(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const stun = parseStun(msg);
    if (!stun || stun.type !== StunType.BindingRequest) {
      if (!stun) this.stats.malformed++;
      return;
    }
    const ufrag = stun.username?.split(':')[0] ?? '';
    const transport = this.#byUfrag.get(ufrag);
    if (!transport) {
      this.stats.unknownUsername++;
      return;
    }
    const from: RemoteAddress = {
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4',
    };
    transport.handleStun(stun, from, Date.now());
  }

  #checkConsent(nowMs: number): void {
    for (const transport of this.#transports) {
      const lastCheckMs = transport.agent.lastCheckMs;
      if (lastCheckMs > 0 && nowMs - lastCheckMs > this.#consentTimeoutMs) transport.close('consent_timeout');
      else if (transport.state === 'new' && nowMs - transport.createdMs > CONNECT_TIMEOUT_MS)
        transport.close('consent_timeout');
    }
  }

  #candidates(): IceCandidateInfo[] {
    return this.#announcedIps.map((ip, i) => ({
      foundation: String(i + 1),
      component: 1,
      protocol: 'udp',
      // RFC 8445 §5.1.2.1: type preference 126 (host), local preference decreasing per address.
      priority: (126 << 24) + ((65_535 - i) << 8) + 255,
      ip,
      port: this.#port,
      type: 'host',
    }));
  }
}
