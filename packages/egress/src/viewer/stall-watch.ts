// The viewer's watchdog over a live playback (browser code, the decision pure and unit-tested):
// hls.js nudges the playhead over small holes itself, but a playhead left behind for good (the
// media ended at the end of a participant's stream and the element paused, a buffer hole hls.js
// does not fill) never moves again. When the playhead has not advanced for STALL_MS while it
// should, the page seeks to hls.js's live sync position and plays; if that did not help, it also
// recovers the media (a new MediaSource) before seeking again.

/** How long a live playhead may stand still before the watchdog acts: hls.js's own nudges come first. */
export const STALL_MS = 4000;

/** What the watchdog sees of the playback at one look. */
export interface PlaybackSample {
  nowMs: number;
  currentTime: number;
  /** The level playing is a live playlist (an ended one may stop at its end). */
  live: boolean;
  /** Paused by the viewer or a refused autoplay (not by reaching the media's end): left alone. */
  pausedOnPurpose: boolean;
  /** hls.js's live sync position, null before a live playlist was loaded. */
  liveSyncPosition: number | null;
}

export type StallAction =
  | { kind: 'none' }
  | { kind: 'seek-live'; to: number; stalledMs: number }
  | { kind: 'recover'; to: number | null; stalledMs: number };

/** Below this the playhead is taken as standing still (s). */
const MOVED_S = 0.01;

export class StallWatch {
  #lastTime = Number.NaN;
  #sinceMs = 0;
  /** Actions taken since the playhead last advanced: the first seeks, the next recovers too. */
  #attempts = 0;

  /** The action for this look at the playback. */
  look(sample: PlaybackSample): StallAction {
    const moved = !(Math.abs(sample.currentTime - this.#lastTime) < MOVED_S);
    // Why: a playhead that moved, a pause the viewer chose or a playlist that ended are not stalls.
    if (moved || sample.pausedOnPurpose || !sample.live) {
      this.#lastTime = sample.currentTime;
      this.#sinceMs = sample.nowMs;
      if (moved) this.#attempts = 0;
      return { kind: 'none' };
    }
    const stalledMs = sample.nowMs - this.#sinceMs;
    if (stalledMs < STALL_MS) return { kind: 'none' };
    // The next action waits STALL_MS again: a seek or a recovery takes time to show.
    this.#sinceMs = sample.nowMs;
    const first = this.#attempts++ % 2 === 0;
    if (first && sample.liveSyncPosition !== null)
      return { kind: 'seek-live', to: sample.liveSyncPosition, stalledMs };
    return { kind: 'recover', to: sample.liveSyncPosition, stalledMs };
  }
}
