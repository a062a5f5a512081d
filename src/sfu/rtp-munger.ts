/**
 * Rewrites sequence numbers and timestamps of one DownTrack so that the subscriber sees a single
 * continuous stream while the SFU switches between sources (simulcast layers, a republished
 * track) and drops packets it decides not to forward (RFC 3550 §5.1, RFC 7667 §3.7).
 *
 * - The first packet of a source is mapped just after the last packet sent: sequence numbers
 *   continue at +1, timestamps continue at +`switchTimestampStep` (one frame at 30 fps on a 90 kHz
 *   clock by default) so the decoder never sees time going back.
 * - Packets of the current source keep their spacing; packets the SFU drops (`drop`) are removed
 *   from the sequence space so the subscriber does not NACK them.
 * - Late packets from before a switch or older than what was sent are refused (`undefined`).
 * - After a pause the SFU imposed on the source (`resume`, an operator's mute), its next packet
 *   continues the sequence at +1; timestamps keep their offset (the pause lasted as long as it looks).
 */
export class RtpMunger {
  readonly #result = { sequenceNumber: 0, timestamp: 0 };
  readonly #switchTimestampStep: number;
  #started = false;
  #sourceId = -1;
  /** Offsets added to the source's values (mod 2^16 / 2^32). */
  #seqOffset = 0;
  #tsOffset = 0;
  /** Highest source sequence number seen for the current source (extended, not wrapped). */
  #lastSourceSeq = 0;
  #sourceStartSeq = 0;
  #lastOutSeq = 0;
  #lastOutTs = 0;
  /** The last source packet dropped (16-bit), -1 for none since the switch: later offsets differ. */
  #lastDropSeq = -1;
  /** resume() was called: the next packet of the current source rebases the sequence numbers. */
  #resuming = false;

  constructor(options: { switchTimestampStep?: number } = {}) {
    this.#switchTimestampStep = options.switchTimestampStep ?? 3000;
  }

  get lastSequenceNumber(): number {
    return this.#lastOutSeq;
  }

  get lastTimestamp(): number {
    return this.#lastOutTs;
  }

  /** Added to the current source's timestamps (mod 2^32): translates its sender reports. */
  get timestampOffset(): number {
    return this.#tsOffset;
  }

  /** Added to the current source's sequence numbers (mod 2^16). */
  get sequenceOffset(): number {
    return this.#seqOffset;
  }

  /**
   * Maps one packet to forward. `sourceId` identifies the stream it comes from (e.g. the layer's
   * SSRC). Returns the rewritten values, or undefined when the packet must not be sent. The
   * returned object is reused (one per munger, not one per packet): read it before the next call.
   */
  forward(
    sourceId: number,
    sequenceNumber: number,
    timestamp: number,
  ): { sequenceNumber: number; timestamp: number } | undefined {
    if (!this.#started || sourceId !== this.#sourceId) {
      this.#switchTo(sourceId, sequenceNumber, timestamp);
    } else if (this.#resuming) {
      this.#rebaseSequence(sequenceNumber);
    } else {
      const delta = seqDelta(sequenceNumber, this.#lastSourceSeq & 0xffff);
      // Older than the switch to this source: its place in the output was given to the
      // previous source's packets.
      if (delta <= 0 && seqDelta(sequenceNumber, this.#sourceStartSeq) < 0) return undefined;
      // Late (e.g. repaired) and from before a drop, or a copy of the dropped packet itself: the
      // drop moved the offset since, its place is taken (by the packet before the drop).
      if (delta <= 0 && this.#lastDropSeq >= 0 && seqDelta(sequenceNumber, this.#lastDropSeq) <= 0)
        return undefined;
      if (delta > 0) this.#lastSourceSeq += delta;
    }
    const outSeq = (sequenceNumber + this.#seqOffset) & 0xffff;
    const outTs = (timestamp + this.#tsOffset) >>> 0;
    if (seqDelta(outSeq, this.#lastOutSeq) > 0 || !this.#started) {
      this.#lastOutSeq = outSeq;
      this.#lastOutTs = outTs;
    }
    this.#started = true;
    this.#result.sequenceNumber = outSeq;
    this.#result.timestamp = outTs;
    return this.#result;
  }

  /**
   * The SFU decided not to forward this packet of the current source (e.g. a temporal layer above
   * the target): later packets shift down so the gap does not look like loss.
   */
  drop(sourceId: number, sequenceNumber: number): void {
    if (!this.#started || sourceId !== this.#sourceId) return;
    const delta = seqDelta(sequenceNumber, this.#lastSourceSeq & 0xffff);
    if (delta <= 0) return;
    this.#lastSourceSeq += delta;
    this.#seqOffset = (this.#seqOffset - 1) & 0xffff;
    this.#lastDropSeq = sequenceNumber;
  }

  /**
   * The SFU withheld the current source's packets for a while (an operator's mute) and forwards
   * them again: the next one continues the output's sequence numbers, so the subscriber sees no
   * gap to NACK. Its timestamps keep their offset: the pause shows as the time it lasted.
   */
  resume(): void {
    if (this.#started) this.#resuming = true;
  }

  #rebaseSequence(sequenceNumber: number): void {
    this.#resuming = false;
    this.#seqOffset = (this.#lastOutSeq + 1 - sequenceNumber) & 0xffff;
    this.#lastDropSeq = -1;
    this.#lastSourceSeq = sequenceNumber;
    this.#sourceStartSeq = sequenceNumber;
  }

  #switchTo(sourceId: number, sequenceNumber: number, timestamp: number): void {
    this.#resuming = false;
    if (this.#started) {
      this.#seqOffset = (this.#lastOutSeq + 1 - sequenceNumber) & 0xffff;
      this.#tsOffset = (this.#lastOutTs + this.#switchTimestampStep - timestamp) >>> 0;
    } else {
      this.#seqOffset = 0;
      this.#tsOffset = 0;
    }
    this.#sourceId = sourceId;
    this.#lastDropSeq = -1;
    this.#lastSourceSeq = sequenceNumber;
    this.#sourceStartSeq = sequenceNumber;
  }
}

/** Signed distance a − b between two 16-bit sequence numbers (RFC 3550 wrap-around). */
function seqDelta(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}
