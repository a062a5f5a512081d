/**
 * The last `capacity` RTP packets of one stream, by sequence number, for answering NACKs
 * (RFC 4585 §6.2.1). Memory is allocated once: each slot is a fixed-size buffer that a new packet
 * overwrites, so caching costs one copy and no allocation per packet.
 */
export class PacketCache {
  readonly #capacity: number;
  readonly #slotBytes: number;
  readonly #memory: Buffer;
  readonly #lengths: Uint16Array;
  /** Sequence number stored in each slot, or -1. */
  readonly #seqs: Int32Array;

  constructor(options: { capacity?: number; maxPacketBytes?: number } = {}) {
    this.#capacity = options.capacity ?? 512;
    this.#slotBytes = options.maxPacketBytes ?? 1500;
    this.#memory = Buffer.allocUnsafe(this.#capacity * this.#slotBytes);
    this.#lengths = new Uint16Array(this.#capacity);
    this.#seqs = new Int32Array(this.#capacity).fill(-1);
  }

  /** Copies the packet in; packets larger than a slot are not cached (returns false). */
  store(sequenceNumber: number, packet: Buffer): boolean {
    if (packet.length > this.#slotBytes) return false;
    const slot = sequenceNumber % this.#capacity;
    packet.copy(this.#memory, slot * this.#slotBytes);
    this.#lengths[slot] = packet.length;
    this.#seqs[slot] = sequenceNumber;
    return true;
  }

  /** The cached packet (a view into the cache: valid until the slot is reused), or undefined. */
  get(sequenceNumber: number): Buffer | undefined {
    const slot = sequenceNumber % this.#capacity;
    if (this.#seqs[slot] !== sequenceNumber) return undefined;
    const start = slot * this.#slotBytes;
    return this.#memory.subarray(start, start + this.#lengths[slot]!);
  }

  clear(): void {
    this.#seqs.fill(-1);
  }
}
