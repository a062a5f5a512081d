/**
 * Where a DownTrack writes its packets: it builds each one in place in a buffer the output lends
 * (a slot of the endpoint's send queue: no allocation, no copy) and hands it back with its length.
 * Lifecycle: one per subscription, shared by its DownTracks; a buffer is lent until its send().
 */
export interface RtpOutput {
  /** A buffer with room for an RTP packet of up to `bytes`, valid until send() or the next buffer(). */
  buffer(bytes: number): Buffer;
  /** Sends packet[0..length), `packet` from buffer(). */
  send(packet: Buffer, length: number): void;
}

/**
 * An output that hands each packet to `send` in a buffer of its own (the receiver may keep it):
 * for tests and callers that take whole packets. Allocates per packet.
 */
export function packetOutput(send: (packet: Buffer) => void): RtpOutput {
  return {
    buffer: (bytes) => Buffer.allocUnsafe(bytes),
    send: (packet, length) => send(packet.subarray(0, length)),
  };
}
