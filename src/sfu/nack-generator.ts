/** A missing packet is asked for at most this many times, and for at most this long. */
const MAX_TRIES = 10;
const MAX_AGE_MS = 1000;
/** A gap is asked for once it is this old (a packet merely reordered arrives within it). */
const REORDER_MS = 10;
/** Asked again no sooner than this after the last ask, or one round trip if longer. */
const MIN_RETRY_MS = 20;
/** A jump larger than this is a restart of the stream, not loss. */
const MAX_GAP = 500;
/** More missing packets than this in one stream: the oldest are given up. */
const MAX_MISSING = 1000;

interface Missing {
  firstMs: number;
  lastAskedMs: number;
  tries: number;
}

interface Stream {
  /** Highest sequence number seen, extended past 16 bits. */
  highest: number;
  missing: Map<number, Missing>;
}

/**
 * Finds the packets a publisher's streams lost on their way to the SFU and says which to ask for
 * again (RTCP NACK, RFC 4585 §6.2.1), and when: after a short reordering wait, then every round
 * trip, up to MAX_TRIES times within MAX_AGE_MS (what a sender keeps for retransmission). A packet
 * that arrives late or repaired (RTX) is no longer missing.
 *
 * Pure: times come in the arguments. Lifecycle: one per publisher connection.
 */
export class NackGenerator {
  readonly #streams = new Map<number, Stream>();
  /** Packets found missing, and packets asked for (both since start). */
  lost = 0;
  asked = 0;

  /** A packet of `ssrc` arrived (or was repaired); returns whether it revealed a gap. */
  onPacket(ssrc: number, sequenceNumber: number, nowMs: number): boolean {
    const stream = this.#streams.get(ssrc);
    if (!stream) {
      this.#streams.set(ssrc, { highest: sequenceNumber, missing: new Map() });
      return false;
    }
    const delta = ((sequenceNumber - stream.highest) << 16) >> 16;
    const ext = stream.highest + delta;
    if (delta <= 0) {
      stream.missing.delete(ext);
      return false;
    }
    if (delta > MAX_GAP) {
      stream.missing.clear();
      stream.highest = ext;
      return false;
    }
    for (let s = stream.highest + 1; s < ext; s++) {
      stream.missing.set(s, { firstMs: nowMs, lastAskedMs: Number.NEGATIVE_INFINITY, tries: 0 });
      this.lost++;
    }
    stream.highest = ext;
    if (stream.missing.size > MAX_MISSING) {
      for (const s of stream.missing.keys()) {
        stream.missing.delete(s);
        if (stream.missing.size <= MAX_MISSING) break;
      }
    }
    return delta > 1;
  }

  /**
   * A retransmission of `ssrc`'s packet arrived: true when that packet was missing (it is not any
   * more), false for one already received or never awaited. A sender also resends packets nobody
   * asked for (Chromium pads its bandwidth probes with recent packets over RTX): those are
   * duplicates, not repairs.
   */
  onRetransmission(ssrc: number, sequenceNumber: number): boolean {
    const stream = this.#streams.get(ssrc);
    if (!stream) return false;
    const delta = ((sequenceNumber - stream.highest) << 16) >> 16;
    if (delta > 0) return false;
    return stream.missing.delete(stream.highest + delta);
  }

  /** Whether `ssrc` has packets still being asked for. */
  pending(ssrc: number): boolean {
    return (this.#streams.get(ssrc)?.missing.size ?? 0) > 0;
  }

  /** The publisher stopped sending `ssrc` (or left). */
  forget(ssrc: number): void {
    this.#streams.delete(ssrc);
  }

  /** The sequence numbers (16-bit) to ask for now, per SSRC; gives up on the too old and too often asked. */
  collect(nowMs: number, rttMs: number, out: (ssrc: number, sequenceNumbers: number[]) => void): void {
    const retryMs = Math.max(MIN_RETRY_MS, rttMs);
    for (const [ssrc, stream] of this.#streams) {
      if (stream.missing.size === 0) continue;
      const ask: number[] = [];
      for (const [seq, m] of stream.missing) {
        if (m.tries >= MAX_TRIES || nowMs - m.firstMs > MAX_AGE_MS) {
          stream.missing.delete(seq);
          continue;
        }
        if (nowMs - m.firstMs < REORDER_MS || nowMs - m.lastAskedMs < retryMs) continue;
        m.tries++;
        m.lastAskedMs = nowMs;
        ask.push(seq & 0xffff);
      }
      if (ask.length > 0) {
        this.asked += ask.length;
        out(ssrc, ask);
      }
    }
  }
}
