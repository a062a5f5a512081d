import { seqDiff } from '../../rtp/seq.ts';
import type { PacketCache } from '../packet-cache.ts';

/**
 * A cached keyframe older than this is not replayed to a subscriber that just connected: it would
 * show a picture that old and send a second of video in one burst; a fresh keyframe (one request
 * round trip to the publisher) is then about as quick and shows the present.
 */
export const REPLAY_MAX_AGE_MS = 1000;
/**
 * At most this many packets (the keyframe and what followed it) are replayed: half of a video
 * layer's packet cache (512), so the range cannot be overwritten while it is checked, and about a
 * second of a 720p layer at 2.5 Mbps. More would be one burst larger than a new subscriber's link
 * is known to carry.
 */
export const REPLAY_MAX_PACKETS = 256;

/**
 * Where the newest keyframe of one received stream (a simulcast layer's SSRC, or the one SSRC of
 * an SVC track) starts in its packet cache, and the newest packet since: what a DownTrack that
 * starts late (its subscriber's transport just connected) replays instead of waiting for a new
 * keyframe. Fed with every packet of the stream, in arrival order (repairs arrive late).
 *
 * Lifecycle: one per layer of an UpTrack, dropped with it.
 */
export class CachedKeyframe {
  /** Sequence number of the keyframe's first packet; -1 before any keyframe. */
  #startSeq = -1;
  #timestamp = 0;
  #receivedMs = Number.NEGATIVE_INFINITY;
  /** Newest sequence number received; -1 before any packet. */
  #highestSeq = -1;

  /**
   * A packet arrived; `keyframe`: it starts (or belongs to the start of) a keyframe. `timestamp`
   * in either 32-bit form (unsigned, or signed), the same for every packet.
   */
  received(sequenceNumber: number, timestamp: number, keyframe: boolean, nowMs: number): void {
    if (this.#highestSeq < 0 || seqDiff(sequenceNumber, this.#highestSeq) > 0)
      this.#highestSeq = sequenceNumber;
    if (!keyframe) return;
    if (this.#startSeq < 0 || timestamp !== this.#timestamp) {
      // Why: a keyframe packet of an older picture (a late repair) must not move the start back.
      if (this.#startSeq >= 0 && seqDiff(sequenceNumber, this.#startSeq) < 0) return;
      this.#startSeq = sequenceNumber;
      this.#timestamp = timestamp;
      this.#receivedMs = nowMs;
    } else if (seqDiff(sequenceNumber, this.#startSeq) < 0) {
      // Another packet of the same picture flagged as keyframe (H.264 parameter sets and slices)
      // that came out of order: the keyframe starts at the earliest.
      this.#startSeq = sequenceNumber;
    }
  }

  /**
   * The cached range to replay at `nowMs`: from the keyframe's first packet to the newest, when
   * the keyframe is younger than REPLAY_MAX_AGE_MS, the range at most REPLAY_MAX_PACKETS long, and
   * every packet of it still in `cache` (a gap would leave the subscriber waiting for a repair,
   * or for a keyframe anyway). Undefined when there is none.
   */
  replayRange(cache: PacketCache, nowMs: number): { firstSeq: number; count: number } | undefined {
    if (this.#startSeq < 0 || nowMs - this.#receivedMs > REPLAY_MAX_AGE_MS) return undefined;
    const count = seqDiff(this.#highestSeq, this.#startSeq) + 1;
    if (count < 1 || count > REPLAY_MAX_PACKETS) return undefined;
    for (let i = 0; i < count; i++) if (!cache.get((this.#startSeq + i) & 0xffff)) return undefined;
    return { firstSeq: this.#startSeq, count };
  }
}
