import type { RemoteAddress } from './ice/ice-lite-agent.ts';

/**
 * How a transport (WebRtcTransport, the `T` here) reaches the network: the endpoint's shared UDP
 * socket (UdpEndpoint).
 */
export interface DatagramSender<T> {
  /** Sends a datagram we will not touch again (queued or copied as the sender needs). */
  send(datagram: Buffer, to: RemoteAddress): void;
  /**
   * A buffer of at least `bytes` to build one datagram in, in place: a slot of the sender's batch
   * queue, or a fresh buffer. Hand it to sendClaimed before claiming another.
   */
  claim(bytes: number): Buffer;
  /** Sends datagram[0..length), `datagram` from claim(). */
  sendClaimed(datagram: Buffer, length: number, to: RemoteAddress): void;
  /** The selected address changed: the endpoint routes datagrams from `address` to us. */
  routeFrom(transport: T, address: RemoteAddress, previous: RemoteAddress | undefined): void;
  /** Our ICE credentials changed (ICE restart): checks now name the new local fragment. */
  reindex(transport: T, previousUfrag: string): void;
  forget(transport: T): void;
  /** When the datagram being handled now reached this host (performance.now() µs), into out[0]. */
  readArrivalUs(out: Float64Array): void;
}
