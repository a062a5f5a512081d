import type { MediaFrame } from '../media/frame.ts';
import type { ByteOutput } from '../mux/byte-output.ts';
import { av1CodecPrivate } from '../mux/webm-tracks.ts';
import { type WebmTrackSpec, WebmWriter } from '../mux/webm-writer.ts';
import { RecordingSink } from './recording-sink.ts';

export interface WebmRecordingTracks {
  video?: 'vp8' | 'vp9' | 'av1';
  audio?: { codec: 'opus'; channels: number };
}

/**
 * A recording to one WebM file (VP8/VP9/AV1 video, Opus audio), without transcoding, starting at
 * the first video keyframe (RecordingSink). Crash-safe as WebmWriter is; end() writes its index.
 */
export class WebmRecording extends RecordingSink {
  readonly #tracks: WebmRecordingTracks;
  #writer: WebmWriter | undefined;
  #lastVideoUs = -1;
  #videoFrameUs = 0;

  constructor(out: ByteOutput, tracks: WebmRecordingTracks) {
    if (!tracks.video && !tracks.audio) throw new RangeError('a recording needs a track');
    super(out);
    this.#tracks = tracks;
  }

  protected open(frame: MediaFrame): boolean {
    const video = this.#tracks.video;
    if (video && !(frame.kind === 'video' && frame.keyframe && frame.width > 0 && frame.codec === video))
      return false;
    const specs: WebmTrackSpec[] = [];
    if (video && frame.kind === 'video') {
      const codecPrivate = video === 'av1' ? av1CodecPrivate(frame.data) : undefined;
      const { width, height } = frame;
      specs.push({ kind: 'video', codec: video, width, height, ...(codecPrivate && { codecPrivate }) });
    }
    if (this.#tracks.audio)
      specs.push({ kind: 'audio', codec: 'opus', channels: this.#tracks.audio.channels });
    this.#writer = new WebmWriter(this.out, specs);
    return true;
  }

  protected append(frame: MediaFrame): boolean {
    const writer = this.#writer!;
    if (frame.kind === 'video') {
      if (frame.codec !== this.#tracks.video) return false;
      if (this.#lastVideoUs >= 0) this.#videoFrameUs = frame.ptsUs - this.#lastVideoUs;
      this.#lastVideoUs = frame.ptsUs;
      writer.write(0, { ...frame, durationUs: this.#videoFrameUs });
      return true;
    }
    if (!this.#tracks.audio || frame.codec !== 'opus') return false;
    const durationUs = (frame.samples * 1e6) / frame.sampleRate;
    writer.write(this.#tracks.video ? 1 : 0, { ...frame, keyframe: true, durationUs });
    return true;
  }

  protected close(): void {
    this.#writer?.finish();
  }
}
