import type { MediaFrame } from '../media/frame.ts';
import type { ByteOutput } from '../mux/byte-output.ts';
import { Fmp4Fragmenter } from '../mux/fmp4-fragmenter.ts';
import { initSegmentOf, VIDEO_TIMESCALE } from '../mux/fmp4-init.ts';
import { h264ConfigOf } from '../mux/h264-config.ts';
import { RecordingSink } from './recording-sink.ts';

/** A fragment is cut at each keyframe and at least this often: what a killed process can lose. */
const MAX_FRAGMENT_US = 1_000_000;
const VIDEO_TRACK_ID = 1;
const AUDIO_TRACK_ID = 2;

export interface Mp4RecordingTracks {
  video: 'h264';
  audio?: { codec: 'opus' | 'aac'; sampleRate: number; channels: number; audioSpecificConfig?: Buffer };
}

/**
 * A recording to one fragmented MP4 file (H264, with Opus or AAC), without transcoding: the init
 * segment (both tracks) once the first keyframe brought its SPS/PPS, then a moof + mdat per track
 * at each keyframe and at least every second, so a killed process leaves a file that plays up to
 * its last fragment. It starts at the first keyframe (RecordingSink).
 */
export class Mp4Recording extends RecordingSink {
  readonly #tracks: Mp4RecordingTracks;
  #video: Fmp4Fragmenter | undefined;
  #audio: Fmp4Fragmenter | undefined;
  #fragmentStartUs = 0;

  constructor(out: ByteOutput, tracks: Mp4RecordingTracks) {
    super(out);
    this.#tracks = tracks;
  }

  protected open(frame: MediaFrame): boolean {
    const config = frame.kind === 'video' && frame.keyframe ? h264ConfigOf(frame.data, frame) : null;
    if (!config) return false;
    this.#video = new Fmp4Fragmenter({
      id: VIDEO_TRACK_ID,
      kind: 'video',
      timescale: VIDEO_TIMESCALE,
      config,
    });
    const audio = this.#tracks.audio;
    if (audio) {
      const { codec, sampleRate, channels, audioSpecificConfig } = audio;
      const audioConfig = {
        codec,
        sampleRate,
        channels,
        ...(audioSpecificConfig && { audioSpecificConfig }),
      };
      this.#audio = new Fmp4Fragmenter({
        id: AUDIO_TRACK_ID,
        kind: 'audio',
        timescale: sampleRate,
        config: audioConfig,
      });
    }
    this.out.append(initSegmentOf([this.#video.track, ...(this.#audio ? [this.#audio.track] : [])]));
    return true;
  }

  protected append(frame: MediaFrame): boolean {
    if (frame.kind === 'audio') {
      if (!this.#audio || frame.codec !== this.#tracks.audio?.codec) return false;
      this.#audio.push(frame);
      return true;
    }
    if (frame.codec !== 'h264') return false;
    const video = this.#video!;
    if (video.pendingCount > 0 && (frame.keyframe || frame.ptsUs - this.#fragmentStartUs >= MAX_FRAGMENT_US))
      this.#cut(video.dtsOf(frame));
    if (video.pendingCount === 0) this.#fragmentStartUs = frame.ptsUs;
    video.push(frame);
    return true;
  }

  protected close(): void {
    this.#cut();
  }

  /** Appends the queued frames of each track as a fragment. */
  #cut(nextVideoDts?: number): void {
    const video = this.#video?.flush(nextVideoDts);
    if (video) this.out.append(video.fragment);
    const audio = this.#audio?.flush();
    if (audio) this.out.append(audio.fragment);
  }
}
