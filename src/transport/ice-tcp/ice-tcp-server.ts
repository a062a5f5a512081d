import net from 'node:net';
import { countReceived } from '../count-received.ts';
import type { RemoteAddress } from '../ice/ice-lite-agent.ts';
import { looksLikeStun, parseStun, StunType } from '../ice/stun.ts';
import type { WebRtcTransport } from '../webrtc-transport.ts';
import {
  emptyIceTcpStats,
  type FrameHandler,
  IceTcpConnection,
  type IceTcpStats,
} from './ice-tcp-connection.ts';

/** What the server needs from the worker's endpoint: the transports, found by ICE local fragment. */
export interface IceTcpRouter {
  transportForUfrag(ufrag: string): WebRtcTransport | undefined;
  /** Sends what the endpoint queued while a frame was handled. */
  flush(): void;
}

/** Most connections at once per worker: more is a flood, not peers (each transport needs one). */
const MAX_CONNECTIONS = 4096;

/**
 * The passive side of ICE-TCP (RFC 6544) on one TCP port of a media worker: peers connect to us
 * (we never connect out), each connection carries RFC 4571 frames demultiplexed like datagrams on
 * the UDP port (RFC 7983, first byte): STUN goes to the transport named by USERNAME; DTLS and
 * SRTP go to the transport that selected this connection; anything else closes the connection.
 *
 * IPv6 (listen6) is a second, IPv6-only listener beside the IPv4 one, as the UDP side has an
 * IPv6-only socket beside its IPv4 one: a dual-stack listener would accept IPv4 peers as mapped
 * addresses (::ffff:a.b.c.d, family IPv6) and fail where the host has IPv6 turned off, so the IPv4
 * side stays exactly as it is. Both listeners share the connections, stats and transports.
 *
 * Lifecycle: listen() (then listen6()) → accepting → close() (closes both listeners and every
 * connection).
 */
export class IceTcpServer implements FrameHandler {
  readonly stats: IceTcpStats = emptyIceTcpStats();
  readonly #servers: net.Server[] = [];
  readonly #router: IceTcpRouter;
  readonly #connections = new Set<IceTcpConnection>();
  /** The transport that selected each connection as its path (set by bind()). */
  readonly #bound = new WeakMap<IceTcpConnection, WebRtcTransport>();
  #port = 0;
  #port6 = 0;

  constructor(router: IceTcpRouter) {
    this.#router = router;
  }

  get port(): number {
    return this.#port;
  }

  /** The IPv6 listener's port once listen6() succeeded, else 0. */
  get port6(): number {
    return this.#port6;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(port: number, host = '0.0.0.0'): Promise<void> {
    this.#port = await this.#listen({ port, host });
  }

  /**
   * Listens on `port` of `host` for IPv6 peers only (any free port when 0); rejects naming the
   * address, the port and what to do without it when it cannot (the worker then fails to start).
   */
  async listen6(port: number, host = '::'): Promise<void> {
    try {
      this.#port6 = await this.#listen({ port, host, ipv6Only: true });
    } catch (err) {
      throw new Error(
        `the IPv6 ICE-TCP listener could not bind [${host}]:${port} (${(err as Error).message}); ICE_IPV6_ENABLED=false runs on IPv4 only`,
      );
    }
  }

  /** `transport` selected `address` (one of our connections): its DTLS and SRTP now go to it. */
  bind(transport: WebRtcTransport, address: RemoteAddress): void {
    if (address.stream instanceof IceTcpConnection) this.#bound.set(address.stream, transport);
  }

  /** `transport` left `address` (a new pair was selected, or it closed). */
  unbind(transport: WebRtcTransport, address: RemoteAddress, options: { close: boolean }): void {
    const connection = address.stream;
    if (!(connection instanceof IceTcpConnection) || this.#bound.get(connection) !== transport) return;
    this.#bound.delete(connection);
    // Why: a closed transport's connection serves nobody; a deselected one may still carry checks.
    if (options.close) connection.close();
  }

  /** What sfu.dump() reports (the IceTcpDump of src/protocol/sfu-api.ts). */
  dump(): { connections: number; framingErrors: number; rtpDropped: number; otherDropped: number } {
    const { framingErrors, rtpDropped, otherDropped } = this.stats;
    return { connections: this.#connections.size, framingErrors, rtpDropped, otherDropped };
  }

  close(): void {
    for (const server of this.#servers) server.close();
    for (const connection of [...this.#connections]) connection.close();
  }

  onFrame(frame: Buffer, from: RemoteAddress): boolean {
    const first = frame[0]!;
    countReceived(frame);
    try {
      if (first < 4) return this.#onStun(frame, from);
      const transport = this.#bound.get(from.stream as IceTcpConnection);
      if (first >= 20 && first <= 63) transport?.handleDtls(frame);
      else if (first >= 128 && first <= 191) transport?.handleSrtp(frame);
      else return false;
      // Why: DTLS or media before a check selected this connection is out of order, not harmful.
      if (!transport) this.stats.unboundFrames++;
      return true;
    } finally {
      this.#router.flush();
    }
  }

  onClosed(connection: IceTcpConnection): void {
    this.#connections.delete(connection);
  }

  async #listen(options: net.ListenOptions): Promise<number> {
    const server = net.createServer((socket) => this.#accept(socket));
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // An accept error (e.g. too many open files) must not take the worker down.
    server.on('error', () => undefined);
    return (server.address() as net.AddressInfo).port;
  }

  #accept(socket: net.Socket): void {
    if (this.#connections.size >= MAX_CONNECTIONS) {
      this.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    this.stats.connectionsAccepted++;
    this.#connections.add(new IceTcpConnection(socket, this.stats, this));
  }

  #onStun(frame: Buffer, from: RemoteAddress): boolean {
    const stun = looksLikeStun(frame) ? parseStun(frame) : undefined;
    if (!stun) return false;
    // Responses and indications are legal STUN a lite agent has no use for.
    if (stun.type !== StunType.BindingRequest) return true;
    const transport = this.#router.transportForUfrag(stun.username?.split(':')[0] ?? '');
    if (transport) transport.handleStun(stun, from, Date.now());
    else this.stats.unknownUsername++;
    return true;
  }
}
