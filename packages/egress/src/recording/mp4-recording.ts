import type { AudioFrame, FrameSink, MediaFrame, VideoFrame } from '../media/frame.ts';
import type { ByteOutput } from '../mux/byte-output.ts';
import { Fmp4Fragmenter } from '../mux/fmp4-fragmenter.ts';
import { initSegmentOf, VIDEO_TIMESCALE } from '../mux/fmp4-init.ts';
import { h264ConfigOf } from '../mux/h264-config.ts';

/** A fragment is cut at each keyframe and at least this often: what a killed process can lose. */
const MAX_FRAGMENT_US = 1_000_000;
/** Audio kept while the file waits for its first video keyframe (≈ 4 s of 20 ms Opus packets). */
const MAX_WAITING_AUDIO = 200;
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
 * its last fragment. Frame times are rebased on the first keyframe (the file starts at 0); audio
 * before it is left out.
 */
export class Mp4Recording implements FrameSink {
  readonly #out: ByteOutput;
  readonly #tracks: Mp4RecordingTracks;
  #video: Fmp4Fragmenter | undefined;
  #audio: Fmp4Fragmenter | undefined;
  #baseUs = 0;
  #fragmentStartUs = 0;
  #waitingAudio: AudioFrame[] = [];
  #ended = false;
  framesWritten = 0;
  framesSkipped = 0;

  constructor(out: ByteOutput, tracks: Mp4RecordingTracks) {
    this.#out = out;
    this.#tracks = tracks;
  }

  write(frame: MediaFrame): void {
    if (this.#ended) return;
    if (!this.#video && !this.#open(frame)) return;
    if (frame.kind === 'video') this.#writeVideo(frame);
    else this.#writeAudio(frame);
  }

  async end(_reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#cut();
    await this.#out.close();
  }

  #open(frame: MediaFrame): boolean {
    const config = frame.kind === 'video' && frame.keyframe ? h264ConfigOf(frame.data, frame) : null;
    if (!config) {
      if (frame.kind === 'audio') this.#waitingAudio.push(frame);
      else this.framesSkipped++;
      if (this.#waitingAudio.length > MAX_WAITING_AUDIO) {
        this.#waitingAudio.shift();
        this.framesSkipped++;
      }
      return false;
    }
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
    this.#out.append(initSegmentOf([this.#video.track, ...(this.#audio ? [this.#audio.track] : [])]));
    this.#baseUs = frame.ptsUs;
    const waiting = this.#waitingAudio.filter((a) => a.ptsUs >= this.#baseUs);
    this.framesSkipped += this.#waitingAudio.length - waiting.length;
    this.#waitingAudio = [];
    for (const a of waiting) this.#writeAudio(a);
    return true;
  }

  #writeVideo(frame: VideoFrame): void {
    const rebased = { ...frame, ptsUs: frame.ptsUs - this.#baseUs };
    const video = this.#video!;
    if (
      video.pendingCount > 0 &&
      (frame.keyframe || rebased.ptsUs - this.#fragmentStartUs >= MAX_FRAGMENT_US)
    )
      this.#cut(video.dtsOf(rebased));
    if (video.pendingCount === 0) this.#fragmentStartUs = rebased.ptsUs;
    video.push(rebased);
    this.framesWritten++;
  }

  #writeAudio(frame: AudioFrame): void {
    const ptsUs = frame.ptsUs - this.#baseUs;
    if (!this.#audio || frame.codec !== this.#tracks.audio?.codec || ptsUs < 0) return;
    this.#audio.push({ ...frame, ptsUs });
    this.framesWritten++;
  }

  /** Appends the queued frames of each track as a fragment. */
  #cut(nextVideoDts?: number): void {
    const video = this.#video?.flush(nextVideoDts);
    if (video) this.#out.append(video.fragment);
    const audio = this.#audio?.flush();
    if (audio) this.#out.append(audio.fragment);
  }
}
