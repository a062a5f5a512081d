import dgram from 'node:dgram';
import { mediaCounters } from '../lib/media-counters.ts';
import { observeForwardingLatencyUs } from '../lib/media-histograms.ts';
import { ConsentCheck } from './consent-check.ts';
import { countReceived } from './count-received.ts';
import type { DatagramSender } from './datagram-sender.ts';
import type { DtlsCertificate } from './dtls/dtls-certificate.ts';
import { CONSENT_TIMEOUT_MS, type RemoteAddress } from './ice/ice-lite-agent.ts';
import { looksLikeStun, parseStun, StunType } from './ice/stun.ts';
import { hostCandidates } from './ice-candidates.ts';
import { IceTcpServer } from './ice-tcp/ice-tcp-server.ts';
import { Ipv6Socket } from './ipv6-socket.ts';
import { bindMediaSocket } from './media-socket.ts';
import type { ReceiveClock } from './receive-clock.ts';
import type { SendCounters, SendPath, SendQueue } from './send-queue.ts';
import { type NativeAddon, nativeAddon } from './srtp/native-addon.ts';
import { TransportRoutes } from './transport-routes.ts';
import { WebRtcTransport } from './webrtc-transport.ts';

export type { SendPath } from './send-queue.ts';

export interface UdpEndpointStats extends SendCounters {
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
 * Anything else, or from an unknown address, is dropped and counted. With IPv6 addresses to
 * announce, an IPv6-only socket sits beside it (ipv6-socket.ts): its datagrams take the same
 * dispatch, and a send to an IPv6 peer leaves from it (its own sendmmsg queue); ICE-TCP then
 * listens on IPv6 too (listenTcp). Transports whose peer is gone are closed by a ConsentCheck
 * (consent-check.ts).
 */
export class UdpEndpoint implements DatagramSender<WebRtcTransport> {
  /** The socket's receive buffer as the kernel reports it (twice what it granted), after bind(). */
  receiveBufferBytes = 0;
  readonly stats: UdpEndpointStats = {
    datagramsReceived: 0,
    malformed: 0,
    unknownAddress: 0,
    unknownUsername: 0,
    datagramsSent: 0,
    sendCalls: 0,
    sendErrors: 0,
  };
  readonly #socket: dgram.Socket;
  readonly #certificate: DtlsCertificate;
  readonly #announcedIps: string[];
  /** IPv6 addresses announced on the IPv6 socket (empty: no IPv6 socket). */
  readonly #announcedIps6: string[];
  /** The IPv6-only socket beside an IPv4 one (bind(), when IPv6 addresses are announced). */
  #socket6: Ipv6Socket | undefined;
  readonly #udpCandidates: boolean;
  /** The passive ICE-TCP port beside this one (listenTcp), if any. */
  #tcp: IceTcpServer | undefined;
  readonly #routes = new TransportRoutes();
  readonly #consent: ConsentCheck;
  #port = 0;
  #nextId = 0;
  #queue: SendQueue | undefined;
  #receiveClock: ReceiveClock | undefined;
  /** The receive clock of the socket whose datagram is being dispatched. */
  #dispatchClock: ReceiveClock | undefined;
  /**
   * [0]: the receive time of the datagram being dispatched, once asked (readArrivalUs); -1 before.
   * Kept in memory, never returned: a double returned or passed is a heap number per datagram.
   */
  readonly #arrival = new Float64Array(1);
  /** Inside #onDatagram: sends are flushed when it returns. */
  #dispatching = false;
  #flushScheduled = false;
  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    this.flush();
  };

  constructor(options: {
    certificate: DtlsCertificate;
    announcedIps: string[];
    /**
     * IPv6 addresses to announce (default none): bind() then also binds an IPv6-only socket whose
     * datagrams take the same dispatch, and IPv6 peers are answered from it. Needs family udp4.
     */
    announcedIps6?: string[];
    family?: 'udp4' | 'udp6';
    /** A transport whose peer sent no valid check for this long is closed (default 30 s, RFC 7675). */
    consentTimeoutMs?: number;
    /** Announce the UDP candidates (default true); false leaves only ICE-TCP (tests of UDP-less peers). */
    udpCandidates?: boolean;
  }) {
    this.#certificate = options.certificate;
    this.#announcedIps = options.announcedIps;
    this.#announcedIps6 = options.family === 'udp6' ? [] : (options.announcedIps6 ?? []);
    this.#udpCandidates = options.udpCandidates ?? true;
    this.#consent = new ConsentCheck(this.#routes.all, options.consentTimeoutMs ?? CONSENT_TIMEOUT_MS);
    this.#socket = dgram.createSocket({ type: options.family ?? 'udp4' });
    this.#socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo, this.#receiveClock));
    // A send to a vanished peer (ICMP unreachable) must not take the worker down.
    this.#socket.on('error', () => undefined);
  }

  get port(): number {
    return this.#port;
  }

  /** The IPv6 socket's port once bound, else 0 (no IPv6 addresses announced). */
  get port6(): number {
    return this.#socket6?.port ?? 0;
  }

  /** The ICE-TCP side, once listenTcp() succeeded. */
  get tcp(): IceTcpServer | undefined {
    return this.#tcp;
  }

  get transportCount(): number {
    return this.#routes.all.size;
  }

  /** Data channels of this endpoint's transports (their SCTP associations' streams). */
  dataChannelCount(): number {
    let count = 0;
    for (const transport of this.#routes.all) count += transport.dataChannels?.channels.size ?? 0;
    return count;
  }

  /** 'sendmmsg' once bound when the native addon is loaded and found the socket's descriptor. */
  get sendPath(): SendPath {
    return this.#queue ? 'sendmmsg' : 'dgram';
  }

  /**
   * Binds the socket on `port` of `host`, and with IPv6 addresses announced an IPv6-only socket on
   * the same port number (any free one when `port` is 0) of `host6`.
   */
  async bind(port: number, host = '0.0.0.0', host6 = '::'): Promise<void> {
    const addon = nativeAddon();
    const bound = await bindMediaSocket(this.#socket, port, host, addon, this.stats);
    this.#port = bound.port;
    this.#queue = bound.queue;
    this.#receiveClock = bound.receiveClock;
    this.receiveBufferBytes = bound.receiveBufferBytes;
    if (this.#announcedIps6.length > 0) await this.#bind6(port, host6, addon);
    this.#consent.start();
  }

  async #bind6(port: number, host: string, addon: NativeAddon | undefined): Promise<void> {
    const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo, this.#socket6?.receiveClock));
    this.#socket6 = await Ipv6Socket.bind(socket, port, host, addon, this.stats);
  }

  /**
   * Accepts ICE-TCP (RFC 6544, passive) on `port` of `host` for the same transports, and with an
   * IPv6 socket (bind()) on the same port number of `host6` for IPv6 peers: transports created
   * afterwards announce TCP candidates too, on each address their UDP ones are. Call after bind().
   */
  async listenTcp(port: number, host = '0.0.0.0', host6 = '::'): Promise<void> {
    const tcp = new IceTcpServer({
      transportForUfrag: (ufrag) => this.#routes.byUfrag(ufrag),
      flush: () => this.flush(),
    });
    try {
      await tcp.listen(port, host);
      if (this.#socket6) await tcp.listen6(port, host6);
    } catch (err) {
      tcp.close();
      throw err;
    }
    this.#tcp = tcp;
  }

  createTransport(): WebRtcTransport {
    const transport = new WebRtcTransport({
      id: `t${++this.#nextId}`,
      sender: this,
      certificate: this.#certificate,
      candidates: this.#candidates(),
      nowMs: Date.now(),
    });
    this.#routes.add(transport);
    return transport;
  }

  /** After an ICE restart the transport has a new local fragment. */
  reindex(transport: WebRtcTransport, previousUfrag: string): void {
    this.#routes.reindex(transport, previousUfrag);
  }

  send(datagram: Buffer, to: RemoteAddress): void {
    if (to.stream) {
      to.stream.write(datagram);
      return;
    }
    if (to.family === 'IPv6' && this.#socket6) {
      if (this.#socket6.send(datagram, datagram.length, to)) this.#scheduleFlush();
      return;
    }
    const slot = this.#queue?.claim(datagram.length);
    if (slot) {
      datagram.copy(slot);
      if (this.#queue!.commit(slot, datagram.length, to)) {
        this.#scheduleFlush();
        return;
      }
    }
    this.#socket.send(datagram, to.port, to.address);
    this.stats.datagramsSent++;
    this.stats.sendCalls++;
  }

  claim(bytes: number): Buffer {
    return this.#queue?.claim(bytes) ?? Buffer.allocUnsafe(bytes);
  }

  sendClaimed(datagram: Buffer, length: number, to: RemoteAddress): void {
    // An ICE-TCP path frames a copy; the claimed slot stays free for the next claim.
    if (to.stream) {
      to.stream.write(datagram, length);
      return;
    }
    if (to.family === 'IPv6' && this.#socket6) {
      if (this.#socket6.send(datagram, length, to)) this.#scheduleFlush();
      return;
    }
    if (this.#queue?.commit(datagram, length, to)) {
      this.#scheduleFlush();
      return;
    }
    // Not a queue slot (no addon, or too big for one): dgram may hold the buffer after send()
    // returns, so it must be the caller's fresh one, or a copy of a slot.
    const own = this.#queue && datagram.buffer === this.#queue.ringBuffer;
    this.#socket.send(
      own ? Buffer.from(datagram.subarray(0, length)) : datagram,
      0,
      length,
      to.port,
      to.address,
    );
    this.stats.datagramsSent++;
    this.stats.sendCalls++;
  }

  /**
   * A datagram from `from` that came another way than the socket (a test or benchmark driving the
   * real path): dispatched as one read from it is, what it makes us send flushed when it returns;
   * its arrival time is now.
   */
  receive(datagram: Buffer, from: dgram.RemoteInfo): void {
    this.#onDatagram(datagram, from, undefined);
  }

  /** Sends what is queued now (the endpoint does this after each received datagram). */
  flush(): void {
    this.#queue?.flush();
    this.#socket6?.flush();
  }

  routeFrom(transport: WebRtcTransport, address: RemoteAddress, previous: RemoteAddress | undefined): void {
    if (previous?.stream) this.#tcp?.unbind(transport, previous, { close: false });
    else if (previous) this.#routes.unroute(undefined, previous);
    if (address.stream) this.#tcp?.bind(transport, address);
    else this.#routes.route(transport, address);
  }

  forget(transport: WebRtcTransport): void {
    this.#routes.remove(transport);
    const selected = transport.agent.selected;
    if (selected?.stream) this.#tcp?.unbind(transport, selected, { close: true });
    else if (selected) this.#routes.unroute(transport, selected);
  }

  close(): void {
    this.#consent.stop();
    for (const transport of [...this.#routes.all]) transport.close('worker_stopped');
    this.#queue?.close();
    this.#queue = undefined;
    this.#socket6?.close();
    this.#socket.close();
    this.#tcp?.close();
  }

  /**
   * When the datagram being dispatched reached this host (performance.now() µs), into out[0]: the
   * kernel's receive time while a UDP datagram is dispatched (ReceiveClock), else now (ICE-TCP).
   */
  readArrivalUs(out: Float64Array): void {
    if (!this.#dispatching) {
      out[0] = performance.now() * 1000;
      return;
    }
    const arrival = this.#arrival;
    // Once per datagram: the publisher asks, and the forwarding latency below reuses it.
    if (arrival[0]! < 0) {
      if (this.#dispatchClock) this.#dispatchClock.readArrivalUs(arrival);
      else arrival[0] = performance.now() * 1000;
    }
    out[0] = arrival[0]!;
  }

  #scheduleFlush(): void {
    if (this.#dispatching || this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushTask);
  }

  #onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo, clock: ReceiveClock | undefined): void {
    this.#dispatching = true;
    this.#dispatchClock = clock;
    this.#arrival[0] = -1;
    const forwarded = mediaCounters.forwardedPackets;
    try {
      this.#dispatch(msg, rinfo);
    } finally {
      this.#dispatching = false;
      this.flush();
    }
    // A publisher's packet whose copies were just handed to the kernel (its arrival was asked);
    // with the counters off (mediaCounting) the count stays put and nothing is timed.
    if (mediaCounters.forwardedPackets !== forwarded && this.#arrival[0]! >= 0)
      observeForwardingLatencyUs(performance.now() * 1000 - this.#arrival[0]!);
  }

  #dispatch(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.datagramsReceived++;
    countReceived(msg);
    const first = msg[0] ?? 0xff;
    if (first < 4 && looksLikeStun(msg)) {
      this.#onStun(msg, rinfo);
      return;
    }
    const transport = this.#routes.fromAddress(rinfo.address, rinfo.port);
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
    const transport = this.#routes.byUfrag(ufrag);
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

  #candidates() {
    return hostCandidates({
      ips: this.#announcedIps,
      udpPort: this.#udpCandidates ? this.#port : undefined,
      ips6: this.#announcedIps6,
      udpPort6: this.#udpCandidates && this.#socket6 ? this.#socket6.port : undefined,
      tcpPort: this.#tcp?.port,
      tcpPort6: this.#tcp?.port6 || undefined,
    });
  }
}
