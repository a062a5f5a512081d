// RFC 4571 framing for the load peers' ICE-TCP mode (RFC 6544 §3): every STUN, DTLS or SRTP
// datagram goes on the stream behind its length, a 16-bit big-endian number. Written apart from
// the server's reader on purpose: a load peer sharing the server's framing code would hide a bug
// both sides make the same way.

/** Header bytes before each packet. */
export const TCP_FRAME_HEADER_BYTES = 2;
/**
 * The largest packet a load peer accepts: an Ethernet MTU plus headroom. The server sends
 * nothing larger (RTP ≤ ~1.2 kB, DTLS records fragmented below the MTU), so a longer length
 * means the stream is out of step.
 */
export const TCP_FRAME_MAX_BYTES = 1600;

/** The 2-byte length and the packet, as one buffer to write. Throws on an empty or too long packet. */
export function encodeTcpFrame(packet: Buffer): Buffer {
  if (packet.length === 0 || packet.length > 0xffff)
    throw new RangeError(`an RFC 4571 frame holds 1-65535 bytes, not ${packet.length}`);
  const out = Buffer.allocUnsafe(TCP_FRAME_HEADER_BYTES + packet.length);
  out.writeUInt16BE(packet.length, 0);
  packet.copy(out, TCP_FRAME_HEADER_BYTES);
  return out;
}

/**
 * Cuts packets out of the byte stream. Chunks may end anywhere (inside the header too); bytes of an
 * incomplete frame wait for the next chunk, at most one frame's worth. A zero length or one above
 * `maxBytes` is an error: the decoder stops and refuses all later input (the link closes).
 *
 * Lifecycle: push() chunks → `error` set on the first bad length → every later push() ignored.
 */
export class TcpFrameDecoder {
  readonly #onFrame: (packet: Buffer) => void;
  readonly #maxBytes: number;
  /** Bytes of the current frame received so far (header included) when it spans chunks. */
  #pending: Buffer = Buffer.alloc(0);
  error: string | undefined;

  constructor(onFrame: (packet: Buffer) => void, maxBytes = TCP_FRAME_MAX_BYTES) {
    this.#onFrame = onFrame;
    this.#maxBytes = maxBytes;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  /** Feeds a chunk; each complete packet goes to onFrame. Returns false once the stream is bad. */
  push(chunk: Buffer): boolean {
    if (this.error) return false;
    let data = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      if (data.length < TCP_FRAME_HEADER_BYTES) break;
      const length = data.readUInt16BE(0);
      // Why: no packet a peer sends is empty or bigger than the MTU; such a length is a broken stream.
      if (length === 0 || length > this.#maxBytes) {
        this.error = `frame length ${length} outside 1-${this.#maxBytes}`;
        this.#pending = Buffer.alloc(0);
        return false;
      }
      if (data.length < TCP_FRAME_HEADER_BYTES + length) break;
      this.#onFrame(data.subarray(TCP_FRAME_HEADER_BYTES, TCP_FRAME_HEADER_BYTES + length));
      data = data.subarray(TCP_FRAME_HEADER_BYTES + length);
    }
    // A copy: the caller's chunk (or the concatenation) must not be held past this call.
    this.#pending = Buffer.from(data);
    return true;
  }
}
