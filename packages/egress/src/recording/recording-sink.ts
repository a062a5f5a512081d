import type { AudioFrame, FrameSink, MediaFrame } from '../media/frame.ts';
import type { ByteOutput } from '../mux/byte-output.ts';

/** Audio kept while a file waits for its first video keyframe (≈ 4 s of 20 ms Opus packets). */
const MAX_WAITING_AUDIO = 200;
/** An audio frame may start this much before the previous one ends (rounding of RTP times). */
const AUDIO_OVERLAP_US = 1_000;
/** Video frames are at least this far apart: WebM counts time in milliseconds. */
const VIDEO_STEP_US = 1_000;

/**
 * What every recording file does around its muxer: it starts at the first frame that can open it
 * (the first video keyframe, whose size and codec setup go in the header), at time 0: later frames
 * are rebased on it, and audio from before it is left out (held meanwhile, in case it is not
 * older). end() finishes the file and closes its output; frames after it are ignored.
 */
export abstract class RecordingSink implements FrameSink {
  protected readonly out: ByteOutput;
  #started = false;
  #ended = false;
  #baseUs = 0;
  #waitingAudio: AudioFrame[] = [];
  /** Where the last audio frame written ends, and the last video frame's time (file time, µs). */
  #audioEndUs = Number.NEGATIVE_INFINITY;
  #videoUs = Number.NEGATIVE_INFINITY;
  /** Frames written, and left out (before the first keyframe). */
  framesWritten = 0;
  framesSkipped = 0;

  constructor(out: ByteOutput) {
    this.out = out;
  }

  write(frame: MediaFrame): void {
    if (this.#ended) return;
    if (!this.#started) {
      if (!this.open(frame)) {
        this.#hold(frame);
        return;
      }
      this.#started = true;
      this.#baseUs = frame.ptsUs;
      const waiting = this.#waitingAudio;
      this.#waitingAudio = [];
      for (const audio of waiting) this.#put(audio);
    }
    this.#put(frame);
  }

  /** The file is open: its first keyframe came and was written. */
  get started(): boolean {
    return this.#started;
  }

  async end(_reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#started) this.close();
    await this.out.close();
  }

  /** Writes the file's header if this frame can start it; false: not yet. */
  protected abstract open(frame: MediaFrame): boolean;
  /** Writes a frame whose time is rebased on the file's start; false when its track is not in the file. */
  protected abstract append(frame: MediaFrame): boolean;
  /** Writes what the file's end needs (its index, the last fragment). */
  protected abstract close(): void;

  #hold(frame: MediaFrame): void {
    if (frame.kind === 'audio') this.#waitingAudio.push(frame);
    else this.framesSkipped++;
    if (this.#waitingAudio.length > MAX_WAITING_AUDIO) {
      this.#waitingAudio.shift();
      this.framesSkipped++;
    }
  }

  #put(frame: MediaFrame): void {
    const ptsUs = this.#placed(frame, frame.ptsUs - this.#baseUs);
    if (ptsUs !== null && this.append({ ...frame, ptsUs })) this.framesWritten++;
    else this.framesSkipped++;
  }

  /**
   * A frame's time in the file, or null to leave it out. A sender report can move a track's
   * timeline back a little, and the timeline then gives the next frames times 1 µs apart: in the
   * file two frames would share a millisecond (players and ffmpeg see a dts that does not increase).
   * Audio that overlaps what was written is left out (20 ms lost, sync kept); video, whose frames
   * cannot be dropped without breaking the decoder's references, moves to 1 ms after the last one.
   */
  #placed(frame: MediaFrame, ptsUs: number): number | null {
    if (ptsUs < 0) return null;
    if (frame.kind === 'video') {
      this.#videoUs = Math.max(ptsUs, this.#videoUs + VIDEO_STEP_US);
      return this.#videoUs;
    }
    if (ptsUs < this.#audioEndUs - AUDIO_OVERLAP_US) return null;
    this.#audioEndUs = ptsUs + (frame.samples * 1e6) / frame.sampleRate;
    return ptsUs;
  }
}
