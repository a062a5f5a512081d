import type { AudioFrame, FrameSink, MediaFrame, VideoFrame } from '../media/frame.ts';
import type { ByteOutput } from '../mux/byte-output.ts';
import { av1CodecPrivate } from '../mux/webm-tracks.ts';
import { type WebmTrackSpec, WebmWriter } from '../mux/webm-writer.ts';

/** Audio kept while the file waits for its first video keyframe (≈ 4 s of 20 ms Opus packets). */
const MAX_WAITING_AUDIO = 200;

export interface WebmRecordingTracks {
  video?: 'vp8' | 'vp9' | 'av1';
  audio?: { codec: 'opus'; channels: number };
}

/**
 * A recording to one WebM file (VP8/VP9/AV1 video, Opus audio), without transcoding. The file
 * starts at the first video keyframe (its size goes in the header; audio before it is left out),
 * at 0: frame times are rebased on it. Crash-safe as WebmWriter is; end() finishes the index.
 */
export class WebmRecording implements FrameSink {
  readonly #out: ByteOutput;
  readonly #tracks: WebmRecordingTracks;
  #writer: WebmWriter | undefined;
  #baseUs = 0;
  #waitingAudio: AudioFrame[] = [];
  #lastVideoUs = -1;
  #videoFrameUs = 0;
  #ended = false;
  /** Frames written, and left out while waiting for the first keyframe. */
  framesWritten = 0;
  framesSkipped = 0;

  constructor(out: ByteOutput, tracks: WebmRecordingTracks) {
    if (!tracks.video && !tracks.audio) throw new RangeError('a recording needs a track');
    this.#out = out;
    this.#tracks = tracks;
  }

  write(frame: MediaFrame): void {
    if (this.#ended) return;
    if (!this.#writer && !this.#open(frame)) return;
    if (frame.kind === 'video') this.#video(frame);
    else this.#audio(frame);
  }

  async end(_reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#writer?.finish();
    await this.#out.close();
  }

  /** Opens the file at the first frame that can start it; false: not yet. */
  #open(frame: MediaFrame): boolean {
    const video = this.#tracks.video;
    if (video && !(frame.kind === 'video' && frame.keyframe && frame.width > 0 && frame.codec === video)) {
      if (frame.kind === 'audio') this.#waitingAudio.push(frame);
      else this.framesSkipped++;
      if (this.#waitingAudio.length > MAX_WAITING_AUDIO) {
        this.#waitingAudio.shift();
        this.framesSkipped++;
      }
      return false;
    }
    const specs: WebmTrackSpec[] = [];
    if (video && frame.kind === 'video') {
      const codecPrivate = video === 'av1' ? av1CodecPrivate(frame.data) : undefined;
      specs.push({
        kind: 'video',
        codec: video,
        width: frame.width,
        height: frame.height,
        ...(codecPrivate && { codecPrivate }),
      });
    }
    if (this.#tracks.audio)
      specs.push({ kind: 'audio', codec: 'opus', channels: this.#tracks.audio.channels });
    this.#writer = new WebmWriter(this.#out, specs);
    this.#baseUs = frame.ptsUs;
    const waiting = this.#waitingAudio.filter((a) => a.ptsUs >= this.#baseUs);
    this.framesSkipped += this.#waitingAudio.length - waiting.length;
    this.#waitingAudio = [];
    for (const a of waiting) this.#audio(a);
    return true;
  }

  #video(frame: VideoFrame): void {
    if (!this.#tracks.video || frame.codec !== this.#tracks.video) return;
    const ptsUs = frame.ptsUs - this.#baseUs;
    if (this.#lastVideoUs >= 0) this.#videoFrameUs = ptsUs - this.#lastVideoUs;
    this.#lastVideoUs = ptsUs;
    this.#writer!.write(0, {
      data: frame.data,
      ptsUs,
      keyframe: frame.keyframe,
      durationUs: this.#videoFrameUs,
    });
    this.framesWritten++;
  }

  #audio(frame: AudioFrame): void {
    if (!this.#tracks.audio || frame.codec !== 'opus') return;
    const ptsUs = frame.ptsUs - this.#baseUs;
    if (ptsUs < 0) return;
    const durationUs = (frame.samples * 1e6) / frame.sampleRate;
    this.#writer!.write(this.#tracks.video ? 1 : 0, { data: frame.data, ptsUs, keyframe: true, durationUs });
    this.framesWritten++;
  }
}
