import { mediaCounters, mediaCounting } from '../../lib/media-counters.ts';
import type { Vp8Descriptor } from '../../rtp/codecs/vp8.ts';
import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import type { RtpOutput } from './rtp-output.ts';
import type { RtpRewriter } from './rtp-rewriter.ts';
import type { SentHistory } from './sent-history.ts';
import type { UpTrack } from './up-track.ts';

/** How long a packet lost between the publisher and us may still be repaired (NackGenerator's limit). */
const UPSTREAM_REPAIR_MS = 1000;

/**
 * Answers a subscriber's NACKs for one DownTrack: each lost sequence number of ours is found in
 * what was sent (SentHistory), its packet in the UpTrack's cache, and resent as first sent (on
 * RTX when negotiated), at most so often; or given up on.
 *
 * Lifecycle: one per DownTrack, sharing its history, rewriter and output.
 */
export class NackResponder {
  /** Packets resent. */
  retransmitted = 0;
  /** NACKed packets not resent: already resent within the last RTT, or too often. */
  resendsSkipped = 0;
  readonly #history: SentHistory;
  readonly #rewriter: RtpRewriter;
  readonly #output: RtpOutput;
  /** VP8: the descriptor to restore the first-sent VP8 fields with. */
  readonly #vp8d: Vp8Descriptor | undefined;

  constructor(options: {
    history: SentHistory;
    rewriter: RtpRewriter;
    output: RtpOutput;
    vp8d: Vp8Descriptor | undefined;
  }) {
    this.#history = options.history;
    this.#rewriter = options.rewriter;
    this.#output = options.output;
    this.#vp8d = options.vp8d;
  }

  /**
   * Resends what is still cached of `sequenceNumbers` (ours) from `up`, each packet not twice
   * within `intervalMs`. Returns whether some video packet was given up on (resent too often, no
   * longer cached, or lost upstream and no longer repairable): it will never arrive.
   */
  answer(up: UpTrack, sequenceNumbers: number[], intervalMs: number, rtxEnabled: boolean): boolean {
    const now = up.clock.nowMs();
    let gaveUp = false;
    const history = this.#history;
    for (const seq of sequenceNumbers) {
      const slot = history.slotOf(seq);
      if (slot < 0) {
        // Never sent: lost before it reached us. While the publisher may still repair it, wait.
        if (now - up.lastUpstreamLossMs > UPSTREAM_REPAIR_MS) gaveUp = true;
        continue;
      }
      const decision = history.decide(slot, now, intervalMs);
      if (decision === 'give_up') {
        gaveUp = true;
        continue;
      }
      if (decision === 'skip') {
        this.resendsSkipped++;
        continue;
      }
      const cached = up.cached(history.sourceSsrc(slot), history.sourceSeq(slot));
      if (!cached) {
        gaveUp = true;
        continue;
      }
      const headerBytes = rtpHeaderBytes(cached);
      if (headerBytes < 0) continue;
      this.retransmitted++;
      if (mediaCounting.on) mediaCounters.retransmissionsSent++;
      history.resent(slot, now);
      // RFC 4588 §4: on RTX, the original sequence number leads the payload.
      const out = this.#output.buffer(cached.length + 2);
      const length = this.#rewriter.rewrite(
        cached,
        headerBytes,
        seq,
        history.timestamp(slot),
        rtxEnabled ? seq : -1,
        history.marker(slot),
        out,
      );
      // The VP8 fields as they were first sent.
      if (this.#vp8d)
        history.restoreVp8(
          slot,
          out,
          length - (cached.length - headerBytes),
          payloadEnd(out, length),
          this.#vp8d,
        );
      this.#output.send(out, length);
    }
    return gaveUp;
  }
}

/** End of the RTP packet buf[0..length)'s payload: before its padding when the P bit is set. */
export function payloadEnd(buf: Buffer, length = buf.length): number {
  return (buf[0]! & 0x20) !== 0 ? length - buf[length - 1]! : length;
}
