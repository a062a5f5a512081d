/** RFC 4571 §2: each packet on the stream is preceded by its length, a 16-bit big-endian number. */
export const FRAME_HEADER_BYTES = 2;
export const MAX_FRAME_BYTES = 65_535;

export type FramingError = 'zero_length';

/**
 * Splits an RFC 4571 byte stream (ICE-TCP, RFC 6544 §3) back into packets. Bytes arrive in chunks
 * of any size; a frame split across chunks is held until complete (at most one frame, < 64 KiB).
 * A zero length is refused: no packet we demultiplex (STUN, DTLS, RTP, RTCP) is empty, so it can
 * only be a peer out of step with the framing, and everything after it is noise.
 *
 * Lifecycle: push() chunks until it returns an error; after an error the reader refuses everything.
 */
export class FrameReader {
  readonly #onFrame: (frame: Buffer) => void;
  /** The frame being assembled (allocated once its length is known), or the header's first byte. */
  #partial: Buffer | undefined;
  #filled = 0;
  #headerByte = -1;
  #error: FramingError | undefined;

  constructor(onFrame: (frame: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  get error(): FramingError | undefined {
    return this.#error;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.#filled + (this.#headerByte >= 0 ? 1 : 0);
  }

  /**
   * Feeds bytes from the stream; each complete frame goes to onFrame (a view into `chunk` when it
   * lies whole inside it: valid during the call only). Returns the framing error that stops the
   * stream, if any.
   */
  push(chunk: Buffer): FramingError | undefined {
    if (this.#error) return this.#error;
    let at = this.#finishPartial(chunk);
    while (at < chunk.length && !this.#error) at = this.#readFrame(chunk, at);
    return this.#error;
  }

  /** Completes a header or a frame begun in an earlier chunk; returns where the next frame starts. */
  #finishPartial(chunk: Buffer): number {
    let at = 0;
    if (this.#headerByte >= 0 && chunk.length > 0) {
      const length = (this.#headerByte << 8) | chunk[0]!;
      this.#headerByte = -1;
      at = 1;
      if (!this.#begin(length)) return chunk.length;
    }
    const partial = this.#partial;
    if (!partial) return at;
    const take = Math.min(partial.length - this.#filled, chunk.length - at);
    chunk.copy(partial, this.#filled, at, at + take);
    this.#filled += take;
    if (this.#filled === partial.length) {
      this.#partial = undefined;
      this.#filled = 0;
      this.#onFrame(partial);
    }
    return at + take;
  }

  #readFrame(chunk: Buffer, at: number): number {
    if (chunk.length - at < FRAME_HEADER_BYTES) {
      this.#headerByte = chunk[at]!;
      return chunk.length;
    }
    const length = chunk.readUInt16BE(at);
    const start = at + FRAME_HEADER_BYTES;
    if (length === 0) {
      this.#error = 'zero_length';
      return chunk.length;
    }
    if (chunk.length - start >= length) {
      this.#onFrame(chunk.subarray(start, start + length));
      return start + length;
    }
    this.#begin(length);
    const rest = chunk.length - start;
    chunk.copy(this.#partial!, 0, start);
    this.#filled = rest;
    return chunk.length;
  }

  #begin(length: number): boolean {
    if (length === 0) {
      this.#error = 'zero_length';
      return false;
    }
    this.#partial = Buffer.allocUnsafe(length);
    this.#filled = 0;
    return true;
  }
}

/** The 2-byte header and the packet as one buffer to write; undefined when it cannot be framed. */
export function frame(packet: Buffer, length = packet.length): Buffer | undefined {
  if (length === 0 || length > MAX_FRAME_BYTES) return undefined;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  out.writeUInt16BE(length, 0);
  packet.copy(out, FRAME_HEADER_BYTES, 0, length);
  return out;
}
