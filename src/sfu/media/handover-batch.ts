/**
 * Packets handed from one media worker to another, many per message (a room spanning workers).
 * One `postMessage` costs ~4 µs whatever it carries; packing a burst of packets into one
 * transferred ArrayBuffer brings the cost per packet under a microsecond.
 *
 * Layout (big-endian):
 *
 *   batch  = magic u32 ('BBH1') | count u32 | record × count
 *   record = relayId u32 | layer u8 | flags u8 (0) | length u16 | RTP packet (length bytes)
 *
 * `relayId` names the published track on the sending worker; `layer` is the simulcast layer index
 * the sending UpTrack gave the packet. The packet is the plaintext RTP (after SRTP), as received.
 */

export const HANDOVER_MAGIC = 0x42424831;
export const BATCH_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 8;
/** Largest RTP packet a record carries (a UDP datagram on the usual MTU is well below this). */
export const MAX_RECORD_PACKET_BYTES = 0xffff;
/** Default batch size: room for ~25 full-size video packets. */
export const DEFAULT_BATCH_BYTES = 32 * 1024;

export class HandoverBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandoverBatchError';
  }
}

export interface HandoverBatchWriterOptions {
  /** Bytes per batch buffer (a packet that does not fit starts a new batch). */
  capacity?: number;
  /** Receives each full or flushed batch; the buffer is the callee's (transfer it). */
  onBatch: (batch: ArrayBuffer, count: number) => void;
  /**
   * Flush on its own once the current burst of work is over (setImmediate after the first
   * append). Off: the owner calls flush().
   */
  autoFlush?: boolean;
}

/**
 * Appends packets to a batch buffer and hands the buffer over when it is full, on flush(), or (with
 * autoFlush) at setImmediate after the first packet of a batch: the datagrams received in one I/O
 * burst leave in one message. Each batch is a fresh ArrayBuffer so it can be transferred.
 */
export class HandoverBatchWriter {
  readonly #capacity: number;
  readonly #onBatch: (batch: ArrayBuffer, count: number) => void;
  readonly #autoFlush: boolean;
  #buffer: ArrayBuffer;
  #bytes: Uint8Array;
  #view: DataView;
  #offset = BATCH_HEADER_BYTES;
  #count = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #closed = false;
  /** Batches and packets handed over, for stats and tests. */
  batches = 0;
  packets = 0;
  /** Packets too large for a record (never expected for RTP) that were left out. */
  oversized = 0;

  constructor(options: HandoverBatchWriterOptions) {
    const capacity = options.capacity ?? DEFAULT_BATCH_BYTES;
    if (!Number.isInteger(capacity) || capacity < BATCH_HEADER_BYTES + RECORD_HEADER_BYTES + 1)
      throw new RangeError(`batch capacity ${capacity} is too small`);
    this.#capacity = capacity;
    this.#onBatch = options.onBatch;
    this.#autoFlush = options.autoFlush ?? true;
    this.#buffer = new ArrayBuffer(capacity);
    this.#bytes = new Uint8Array(this.#buffer);
    this.#view = new DataView(this.#buffer);
  }

  /** Packets waiting in the current batch. */
  get pending(): number {
    return this.#count;
  }

  append(relayId: number, layer: number, packet: Uint8Array): void {
    if (this.#closed) return;
    const length = packet.length;
    const need = RECORD_HEADER_BYTES + length;
    if (length > MAX_RECORD_PACKET_BYTES || BATCH_HEADER_BYTES + need > this.#capacity) {
      this.oversized++;
      return;
    }
    if (this.#offset + need > this.#capacity) this.flush();
    const view = this.#view;
    const at = this.#offset;
    view.setUint32(at, relayId >>> 0);
    view.setUint8(at + 4, layer & 0xff);
    view.setUint8(at + 5, 0);
    view.setUint16(at + 6, length);
    this.#bytes.set(packet, at + RECORD_HEADER_BYTES);
    this.#offset = at + need;
    this.#count++;
    if (this.#autoFlush && this.#scheduled === undefined)
      this.#scheduled = setImmediate(() => {
        this.#scheduled = undefined;
        this.flush();
      });
  }

  /** Hands the current batch over (nothing when it is empty). */
  flush(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#count === 0) return;
    const count = this.#count;
    this.#view.setUint32(0, HANDOVER_MAGIC);
    this.#view.setUint32(4, count);
    // The receiver gets exactly the bytes written: a shorter buffer when the batch is not full.
    const batch = this.#offset === this.#capacity ? this.#buffer : this.#buffer.slice(0, this.#offset);
    if (batch === this.#buffer) {
      this.#buffer = new ArrayBuffer(this.#capacity);
      this.#bytes = new Uint8Array(this.#buffer);
      this.#view = new DataView(this.#buffer);
    }
    this.#offset = BATCH_HEADER_BYTES;
    this.#count = 0;
    this.batches++;
    this.packets += count;
    this.#onBatch(batch, count);
  }

  /** Drops what is pending; appends are ignored afterwards. */
  close(): void {
    this.#closed = true;
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#count = 0;
    this.#offset = BATCH_HEADER_BYTES;
  }
}

/**
 * Checks a whole batch, then calls `onPacket` for each record in order with a view into the
 * batch (valid as long as the batch is; copy what you keep). A malformed batch (wrong magic,
 * truncated record, count not matching the bytes, trailing bytes) throws HandoverBatchError before
 * any packet is delivered. Returns the number of packets.
 */
export function decodeHandoverBatch(
  batch: ArrayBuffer,
  onPacket: (relayId: number, layer: number, packet: Buffer) => void,
): number {
  if (!(batch instanceof ArrayBuffer)) throw new HandoverBatchError('batch is not an ArrayBuffer');
  const total = batch.byteLength;
  if (total < BATCH_HEADER_BYTES) throw new HandoverBatchError(`batch of ${total} bytes has no header`);
  const view = new DataView(batch);
  if (view.getUint32(0) !== HANDOVER_MAGIC) throw new HandoverBatchError('batch has a wrong magic number');
  const count = view.getUint32(4);
  // First pass: every record inside the buffer, exactly `count` of them, nothing after.
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + RECORD_HEADER_BYTES > total)
      throw new HandoverBatchError(`record ${i} of ${count} starts past the end of the batch`);
    const length = view.getUint16(at + 6);
    if (length === 0) throw new HandoverBatchError(`record ${i} is empty`);
    at += RECORD_HEADER_BYTES + length;
    if (at > total) throw new HandoverBatchError(`record ${i} of ${length} bytes is truncated`);
  }
  if (at !== total) throw new HandoverBatchError(`${total - at} bytes after the last record`);
  at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const length = view.getUint16(at + 6);
    onPacket(view.getUint32(at), view.getUint8(at + 4), Buffer.from(batch, at + RECORD_HEADER_BYTES, length));
    at += RECORD_HEADER_BYTES + length;
  }
  return count;
}
