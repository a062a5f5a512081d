// The viewer's recovery of a live playback that stopped (browser code): a jump to the live edge
// when the participant playing was replaced, and the stall watchdog (stall-watch.ts) looking at
// the playhead every second. What it does is logged in the page's console.
import type Hls from 'hls.js';
import { StallWatch } from './stall-watch.ts';

const LOOK_MS = 1000;
/**
 * A replacement this close behind its sync position is not sought to: hls.js catches up by
 * playing faster (maxLiveSyncPlaybackRate), where a seek would stall playback a moment.
 */
const JUMP_MIN_S = 1;

export class LiveWatchdog {
  readonly #hls: Hls;
  readonly #video: HTMLVideoElement;
  readonly #watch = new StallWatch();
  /** The element paused because its media ended (hls.js ended a finished playlist), not by choice. */
  #pausedAtEnd = false;

  constructor(hls: Hls, video: HTMLVideoElement) {
    this.#hls = hls;
    this.#video = video;
    video.addEventListener('ended', () => {
      this.#pausedAtEnd = true;
    });
    video.addEventListener('play', () => {
      this.#pausedAtEnd = false;
    });
    setInterval(() => this.#look(), LOOK_MS);
  }

  /** Seeks forward to hls.js's live sync position, and plays again if the media had ended. */
  jumpToLive(reason: string): void {
    const to = this.#hls.liveSyncPosition;
    const from = this.#video.currentTime;
    // Why only forward: behind the sync position is where a replaced participant's end left it.
    if (to !== null && from < to - JUMP_MIN_S) this.#video.currentTime = to;
    console.info('viewer: jump to the live edge', { reason, from, to, pausedAtEnd: this.#pausedAtEnd });
    if (this.#video.paused && (this.#pausedAtEnd || this.#video.ended)) this.#play();
  }

  #look(): void {
    const video = this.#video;
    const action = this.#watch.look({
      nowMs: performance.now(),
      currentTime: video.currentTime,
      live: this.#hls.latestLevelDetails?.live === true,
      pausedOnPurpose: video.paused && !this.#pausedAtEnd && !video.ended,
      liveSyncPosition: this.#hls.liveSyncPosition,
    });
    if (action.kind === 'none') return;
    console.warn('viewer: live playback stalled, recovering', { ...action, currentTime: video.currentTime });
    if (action.kind === 'recover') this.#hls.recoverMediaError();
    if (action.to !== null) video.currentTime = action.to;
    this.#play();
  }

  #play(): void {
    this.#video.play().catch((err: unknown) => {
      // Playback refused (autoplay policy) or interrupted by a new load: the next look tries again.
      console.warn('viewer: play after recovery failed', { err: String(err) });
    });
  }
}
