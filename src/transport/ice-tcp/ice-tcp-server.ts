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
 * Lifecycle: listen() → accepting → close() (closes every connection).
 */
export class IceTcpServer implements FrameHandler {
  readonly stats: IceTcpStats = emptyIceTcpStats();
  readonly #server: net.Server;
  readonly #router: IceTcpRouter;
  readonly #connections = new Set<IceTcpConnection>();
  /** The transport that selected each connection as its path (set by bind()). */
  readonly #bound = new WeakMap<IceTcpConnection, WebRtcTransport>();
  #port = 0;

  constructor(router: IceTcpRouter) {
    this.#router = router;
    this.#server = net.createServer((socket) => this.#accept(socket));
    // An accept error (e.g. too many open files) must not take the worker down.
    this.#server.on('error', () => undefined);
  }

  get port(): number {
    return this.#port;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(port: number, host = '0.0.0.0'): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ port, host }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
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
    this.#server.close();
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
