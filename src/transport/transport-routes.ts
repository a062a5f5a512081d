import type { RemoteAddress } from './ice/ice-lite-agent.ts';
import type { WebRtcTransport } from './webrtc-transport.ts';

/**
 * Which transport a UDP datagram belongs to: STUN checks by the local ICE fragment they name, the
 * rest by the address and port they come from (the transport's selected address, and the other
 * checked ones it routes here). ICE-TCP paths are the TCP server's.
 *
 * Lifecycle: one per UdpEndpoint; a transport is added when created and removed when it closes.
 */
export class TransportRoutes {
  readonly #byUfrag = new Map<string, WebRtcTransport>();
  /** address → port → transport: two look-ups, no string built per packet. */
  readonly #byAddress = new Map<string, Map<number, WebRtcTransport>>();
  readonly all = new Set<WebRtcTransport>();

  add(transport: WebRtcTransport): void {
    this.all.add(transport);
    this.#byUfrag.set(transport.agent.localUfrag, transport);
  }

  /** After an ICE restart the transport has a new local fragment. */
  reindex(transport: WebRtcTransport, previousUfrag: string): void {
    this.#byUfrag.delete(previousUfrag);
    this.#byUfrag.set(transport.agent.localUfrag, transport);
  }

  byUfrag(ufrag: string): WebRtcTransport | undefined {
    return this.#byUfrag.get(ufrag);
  }

  /** The transport datagrams from `address`:`port` go to (the packet path's look-up). */
  fromAddress(address: string, port: number): WebRtcTransport | undefined {
    return this.#byAddress.get(address)?.get(port);
  }

  /** Datagrams from the UDP address `from` go to `transport`. */
  route(transport: WebRtcTransport, from: RemoteAddress): void {
    let ports = this.#byAddress.get(from.address);
    if (!ports) {
      ports = new Map();
      this.#byAddress.set(from.address, ports);
    }
    ports.set(from.port, transport);
  }

  /** Datagrams from the UDP address `from` no longer go to `transport` (when they did). */
  unroute(transport: WebRtcTransport | undefined, from: RemoteAddress): void {
    const ports = this.#byAddress.get(from.address);
    if (transport === undefined || ports?.get(from.port) === transport) ports?.delete(from.port);
    if (ports?.size === 0) this.#byAddress.delete(from.address);
  }

  /** The transport closed: it is routed from nowhere any more (its selected address unrouted by the caller). */
  remove(transport: WebRtcTransport): void {
    this.all.delete(transport);
    this.#byUfrag.delete(transport.agent.localUfrag);
  }
}
