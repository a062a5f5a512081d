import type dgram from 'node:dgram';
import type { RemoteAddress } from './ice/ice-lite-agent.ts';
import type { NativeAddon } from './srtp/native-addon.ts';

/** The counters a SendQueue adds to (the endpoint's stats). */
export interface SendCounters {
  /** Datagrams handed to the kernel, and the system calls (or dgram sends) that carried them. */
  datagramsSent: number;
  sendCalls: number;
  /** Datagrams the kernel refused for good (e.g. unreachable), dropped. */
  sendErrors: number;
}

/** How the endpoint sends: batched by sendmmsg through the native addon, or one dgram send per datagram. */
export type SendPath = 'sendmmsg' | 'dgram';

const QUEUE_SLOTS = 64;
/** Room for the largest datagram we build (MTU-sized RTP + tag); larger ones bypass the queue. */
const SLOT_BYTES = 2048;
// The addon's meta layout (native/bbmeet_native.c): a header, then per slot: length, family, port,
// unused, and the 16 address bytes.
const META_HEADER = 8;
const META_SLOT = 8;
const META_ERRORS = 0;

/**
 * Datagrams built during one burst (the fan-out of one received packet) in a ring of reusable
 * slots, sent by one sendmmsg on the endpoint's socket when flushed. Protect writes straight into
 * a slot, so nothing is allocated per datagram. Flushed by the endpoint after each received
 * datagram, on the next microtask for sends made elsewhere (timers), and whenever the ring fills.
 */
export class SendQueue {
  readonly #addon: NativeAddon;
  readonly #socket: dgram.Socket;
  readonly #stats: SendCounters;
  #fd: number;
  readonly #ring = Buffer.alloc(QUEUE_SLOTS * SLOT_BYTES);
  readonly #slots: Buffer[] = [];
  readonly #meta = new Uint32Array(META_HEADER + QUEUE_SLOTS * META_SLOT);
  readonly #to: RemoteAddress[] = [];
  /** A peer's address as the addon wants it: family, port, four words of address bytes; null: not a literal. */
  readonly #encoded = new WeakMap<RemoteAddress, Uint32Array | null>();
  readonly #scratch = new Uint8Array(16);
  #count = 0;

  constructor(addon: NativeAddon, socket: dgram.Socket, fd: number, stats: SendCounters) {
    this.#addon = addon;
    this.#socket = socket;
    this.#fd = fd;
    this.#stats = stats;
    for (let i = 0; i < QUEUE_SLOTS; i++)
      this.#slots.push(this.#ring.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
  }

  /** The memory of the slots: a buffer in it is a slot, reused after the next flush. */
  get ringBuffer(): ArrayBufferLike {
    return this.#ring.buffer;
  }

  /** The next free slot (flushing a full ring first), or undefined when `bytes` do not fit one. */
  claim(bytes: number): Buffer | undefined {
    if (bytes > SLOT_BYTES || this.#fd < 0) return undefined;
    if (this.#count === QUEUE_SLOTS) this.flush();
    return this.#slots[this.#count];
  }

  /** Queues slot[0..length) for `to`; false when `slot` is not the claimed slot or `to` cannot be encoded. */
  commit(slot: Buffer, length: number, to: RemoteAddress): boolean {
    const at = this.#count;
    if (slot !== this.#slots[at] || length > SLOT_BYTES) return false;
    const address = this.#encode(to);
    if (!address) return false;
    const meta = this.#meta;
    const m = META_HEADER + at * META_SLOT;
    meta[m] = length;
    meta[m + 1] = address[0]!;
    meta[m + 2] = address[1]!;
    meta[m + 4] = address[2]!;
    meta[m + 5] = address[3]!;
    meta[m + 6] = address[4]!;
    meta[m + 7] = address[5]!;
    this.#to[at] = to;
    this.#count = at + 1;
    return true;
  }

  /** Sends what is queued: one sendmmsg; what would block goes through dgram (copied). */
  flush(): void {
    const count = this.#count;
    if (count === 0) return;
    this.#count = 0;
    const stats = this.#stats;
    const done = this.#fd < 0 ? 0 : this.#addon.flush(this.#fd, this.#ring, SLOT_BYTES, this.#meta, count);
    stats.sendCalls++;
    stats.datagramsSent += done - this.#meta[META_ERRORS]!;
    stats.sendErrors += this.#meta[META_ERRORS]!;
    for (let i = done; i < count; i++) {
      const to = this.#to[i]!;
      const length = this.#meta[META_HEADER + i * META_SLOT]!;
      this.#socket.send(Buffer.from(this.#slots[i]!.subarray(0, length)), to.port, to.address);
      stats.sendCalls++;
      stats.datagramsSent++;
    }
    this.#to.fill(undefined as unknown as RemoteAddress, 0, count);
  }

  /** No sends after this: the socket (and so its descriptor number) is going away. */
  close(): void {
    this.flush();
    this.#fd = -1;
  }

  #encode(to: RemoteAddress): Uint32Array | null {
    let encoded = this.#encoded.get(to);
    if (encoded === undefined) {
      const family = this.#addon.encodeAddress(to.address, this.#scratch);
      if (family === 0) encoded = null;
      else {
        const words = new Uint32Array(this.#scratch.buffer.slice(0));
        encoded = Uint32Array.of(family, to.port, words[0]!, words[1]!, words[2]!, words[3]!);
      }
      this.#encoded.set(to, encoded);
    }
    return encoded;
  }
}

/**
 * The descriptor of a bound dgram socket, checked to be that socket (a UDP socket on its port), or
 * -1. Node has no public accessor: the handle sits in the socket's internal state; `_handle` would
 * do too but warns (DEP0112).
 */
export function socketFd(addon: NativeAddon, socket: dgram.Socket): number {
  let fd = -1;
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[symbol];
    const candidate = state?.handle?.fd;
    if (typeof candidate === 'number' && candidate >= 0) {
      fd = candidate;
      break;
    }
  }
  if (fd < 0) return -1;
  const info = addon.socketInfo(fd);
  const bound = socket.address();
  const family = bound.family === 'IPv6' ? 6 : 4;
  return info && info[0] === family && info[1] === bound.port ? fd : -1;
}
