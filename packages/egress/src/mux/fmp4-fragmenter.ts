import type { MediaFrame } from '../media/frame.ts';
import { type Fmp4Sample, mediaFragment } from './fmp4-fragment.ts';
import { type Fmp4Track, initSegment } from './fmp4-init.ts';

/** When nothing says how long a video frame lasts (a lone frame): 30 fps. */
const DEFAULT_VIDEO_FRAME_US = 33_333;

interface PendingSample {
  data: Buffer;
  dts: number;
  sync: boolean;
  /** Audio: the frame's own length in ticks; video: 0 (taken from its neighbours). */
  ownDuration: number;
}

/**
 * One track's frames → its init segment and a run of CMAF fragments. Decode times are the frames'
 * presentation times in the track's timescale (no B-frames: WebRTC H264 has none), kept strictly
 * increasing so every sample lasts at least one tick; a sample's duration is the next sample's
 * decode time minus its own, and the last sample of a fragment takes the next frame's time when
 * the caller knows it (`flush(nextDts)`), else its own length (audio) or the previous duration.
 *
 * Lifecycle: `push()` frames, `flush()` whenever a fragment (an LL-HLS part) should be cut.
 */
export class Fmp4Fragmenter {
  private pending: PendingSample[] = [];
  private sequence = 0;
  private lastDts = -1;
  private lastDuration = 0;

  readonly track: Fmp4Track;

  constructor(track: Fmp4Track) {
    this.track = track;
  }

  init(): Buffer {
    return initSegment(this.track);
  }

  /** The decode time (track timescale) a frame gets; it does not change the state. */
  dtsOf(frame: MediaFrame): number {
    const dts = Math.round((frame.ptsUs * this.track.timescale) / 1e6);
    return Math.max(dts, this.lastDts + 1);
  }

  /** Queues a frame for the next fragment and returns its decode time. */
  push(frame: MediaFrame): number {
    const dts = this.dtsOf(frame);
    const ownDuration =
      frame.kind === 'audio' ? Math.round((frame.samples * this.track.timescale) / frame.sampleRate) : 0;
    const sync = frame.kind === 'audio' || frame.keyframe;
    this.pending.push({ data: frame.data, dts, sync, ownDuration });
    this.lastDts = dts;
    return dts;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Decode time of the first queued sample, or null. */
  get pendingStartDts(): number | null {
    return this.pending[0]?.dts ?? null;
  }

  /** The duration the last queued sample would get without a next frame. */
  fallbackDuration(): number {
    const last = this.pending[this.pending.length - 1];
    if (last && last.ownDuration > 0) return last.ownDuration;
    if (this.lastDuration > 0) return this.lastDuration;
    return Math.round((DEFAULT_VIDEO_FRAME_US * this.track.timescale) / 1e6);
  }

  /**
   * Writes the queued samples as one fragment (null when none). `nextDts`: the decode time of the
   * frame after them, which fixes the last sample's duration.
   */
  flush(nextDts?: number): { fragment: Buffer; startDts: number; endDts: number; sync: boolean } | null {
    const first = this.pending[0];
    if (!first) return null;
    const samples: Fmp4Sample[] = this.pending.map((s, i) => {
      const next = this.pending[i + 1];
      const duration = next ? next.dts - s.dts : this.lastSampleDuration(s, nextDts);
      this.lastDuration = duration;
      return { data: s.data, duration, sync: s.sync };
    });
    const endDts = this.lastDts + samples[samples.length - 1]!.duration;
    this.sequence += 1;
    const fragment = mediaFragment({
      trackId: this.track.id,
      sequence: this.sequence,
      baseDecodeTime: first.dts,
      samples,
      compositionOffsets: this.track.kind === 'video',
    });
    this.pending = [];
    // Why: the next frame must not start before this fragment ends, or the timeline overlaps.
    this.lastDts = endDts - 1;
    return { fragment, startDts: first.dts, endDts, sync: first.sync };
  }

  private lastSampleDuration(sample: PendingSample, nextDts: number | undefined): number {
    if (nextDts !== undefined && nextDts > sample.dts) return nextDts - sample.dts;
    if (sample.ownDuration > 0) return sample.ownDuration;
    return this.lastDuration > 0 ? this.lastDuration : this.fallbackDuration();
  }
}
