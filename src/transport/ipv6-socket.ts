import type dgram from 'node:dgram';
import type { RemoteAddress } from './ice/ice-lite-agent.ts';
import { bindMediaSocket } from './media-socket.ts';
import type { ReceiveClock } from './receive-clock.ts';
import type { SendCounters, SendQueue } from './send-queue.ts';
import type { NativeAddon } from './srtp/native-addon.ts';

/**
 * The IPv6-only socket beside a UdpEndpoint's IPv4 one, when IPv6 addresses are announced: the
 * endpoint dispatches its datagrams as its own (listening on the socket before bind), and a send
 * to an IPv6 peer leaves from it, through its own sendmmsg queue.
 *
 * Lifecycle: bound by the endpoint's bind() (bind), closed with the endpoint.
 */
export class Ipv6Socket {
  readonly port: number;
  /** The kernel's receive times, when the addon can tell them. */
  readonly receiveClock: ReceiveClock | undefined;
  readonly #socket: dgram.Socket;
  #queue: SendQueue | undefined;
  readonly #stats: SendCounters;

  private constructor(
    socket: dgram.Socket,
    port: number,
    queue: SendQueue | undefined,
    clock: ReceiveClock | undefined,
    stats: SendCounters,
  ) {
    this.#socket = socket;
    this.port = port;
    this.#queue = queue;
    this.receiveClock = clock;
    this.#stats = stats;
  }

  /**
   * Binds `socket` (udp6, IPv6-only) on `port` of `host`; rejects with what to do without it when
   * it cannot (the worker then fails to start).
   */
  static async bind(
    socket: dgram.Socket,
    port: number,
    host: string,
    addon: NativeAddon | undefined,
    stats: SendCounters,
  ): Promise<Ipv6Socket> {
    // As on the IPv4 socket: an unreachable peer must not take the worker down.
    socket.on('error', () => undefined);
    try {
      const bound = await bindMediaSocket(socket, port, host, addon, stats);
      return new Ipv6Socket(socket, bound.port, bound.queue, bound.receiveClock, stats);
    } catch (err) {
      socket.close();
      // Why: the worker then fails to start; the operator learns which socket and how to do without.
      throw new Error(
        `the IPv6 media socket could not bind [${host}]:${port} (${(err as Error).message}); ICE_IPV6_ENABLED=false runs on IPv4 only`,
      );
    }
  }

  /**
   * Sends datagram[0..length) to an IPv6 peer: through the queue (a copy: a claimed slot belongs
   * to the IPv4 queue, claimed before the destination was known), else one dgram send of a copy
   * (dgram may hold the buffer after send() returns, and it may be a slot). True when queued: the
   * caller then schedules a flush.
   */
  send(datagram: Buffer, length: number, to: RemoteAddress): boolean {
    const queue = this.#queue;
    const slot = queue?.claim(length);
    if (slot) {
      datagram.copy(slot, 0, 0, length);
      if (queue!.commit(slot, length, to)) return true;
    }
    this.#socket.send(Buffer.from(datagram.subarray(0, length)), to.port, to.address);
    this.#stats.datagramsSent++;
    this.#stats.sendCalls++;
    return false;
  }

  flush(): void {
    this.#queue?.flush();
  }

  /** Closes the queue (sending what it holds), then the socket. */
  close(): void {
    this.#queue?.close();
    this.#queue = undefined;
    this.#socket.close();
  }
}
