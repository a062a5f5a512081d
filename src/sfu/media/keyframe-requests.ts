import { mediaCounters, mediaCounting } from '../../lib/media-counters.ts';
import type { TrackSink, UpTrack } from './up-track.ts';

/** While waiting for a switch, a keyframe of the target layer is asked for at most this often. */
const KEYFRAME_REQUEST_INTERVAL_MS = 500;
/** A keyframe asked for because a packet was given up on, at most this often. */
const GIVE_UP_KEYFRAME_INTERVAL_MS = 2000;

/**
 * How one video DownTrack gets the keyframes it needs from its UpTrack: at start the newest one
 * still cached is replayed, else asked for; a layer switch or a packet given up on asks for one,
 * each throttled per DownTrack (the UpTrack throttles per SSRC too).
 *
 * Lifecycle: one per DownTrack; the UpTrack is passed on each call (switchSource changes it).
 */
export class KeyframeRequests {
  #lastRequestMs = Number.NEGATIVE_INFINITY;
  #lastGiveUpMs = Number.NEGATIVE_INFINITY;

  /**
   * Starts `sink` at the newest keyframe `up` still holds whole, of layer `target` or else a lower
   * one (any layer beats a freeze), replayed into `sink`; without one, the target's is asked for.
   */
  start(up: UpTrack, target: number, sink: TrackSink): 'replayed' | 'asked' {
    let tried: number | undefined;
    for (let spatial = target; spatial >= 0; spatial--) {
      const ssrc = up.ssrcOfLayer(spatial);
      // ssrcOfLayer falls back to the best layer below: each SSRC once.
      if (ssrc === undefined || ssrc === tried) continue;
      tried = ssrc;
      if (up.replayKeyframe(ssrc, sink) > 0) {
        if (mediaCounting.on) mediaCounters.videoStartsCached++;
        return 'replayed';
      }
    }
    if (mediaCounting.on) mediaCounters.videoStartsAsked++;
    this.ask(up, target);
    return 'asked';
  }

  /** A keyframe of spatial layer `spatial`, at most every KEYFRAME_REQUEST_INTERVAL_MS. */
  ask(up: UpTrack, spatial: number): void {
    const now = up.clock.nowMs();
    if (now - this.#lastRequestMs < KEYFRAME_REQUEST_INTERVAL_MS) return;
    const ssrc = up.ssrcOfLayer(spatial);
    if (ssrc === undefined) return;
    this.#lastRequestMs = now;
    up.requestKeyframe(ssrc);
  }

  /**
   * A packet of layer `spatial` (-1: none forwarded) was given up on: its keyframe, not more often
   * than GIVE_UP_KEYFRAME_INTERVAL_MS. On a congested link each keyframe is the biggest thing
   * sent, and more of them only deepen the congestion that lost the packet.
   */
  givenUp(up: UpTrack, spatial: number): void {
    const now = up.clock.nowMs();
    if (spatial < 0 || now - this.#lastGiveUpMs < GIVE_UP_KEYFRAME_INTERVAL_MS) return;
    this.#lastGiveUpMs = now;
    this.ask(up, spatial);
  }
}
