import type { Logger } from '../../../../src/lib/logger.ts';
import type { FrameSink, MediaFrame, VideoCodecName, VideoConfig, VideoFrame } from '../media/frame.ts';
import { parseSps } from '../mux/h264-config.ts';
import { AccessUnitSplitter, NAL_AUD, NAL_IDR, NAL_PPS, NAL_SPS, nalType, toAvcc } from './annexb.ts';
import { type FfmpegExit, FfmpegProcess } from './ffmpeg-process.ts';
import { ivfFileHeader, ivfFrameHeader } from './ivf.ts';
import { shownPictures } from './shown-frames.ts';

export interface VideoTranscoderOptions {
  logger: Logger;
  /** Each H264 frame, in order, with the presentation time of the input frame it encodes. */
  onFrame: (frame: VideoFrame) => void;
  /** Before the first frame, and again whenever the SPS/PPS change. */
  onConfig: (config: VideoConfig) => void;
  /** ffmpeg crashed, was killed or is missing: the transcoder is over (called once). */
  onFailed: (reason: string) => void;
  /** Frames were dropped (ffmpeg fell behind): a keyframe from the publisher resumes the stream. */
  onKeyframeNeeded?: () => void;
  /** Scale down to at most this height (keeping the aspect ratio); absent: the input size. */
  maxHeight?: number;
  /** Expected input frame rate, for the keyframe interval (default 30). */
  frameRate?: number;
  /** Longest interval between IDR frames when the publisher sends no keyframe (default 2 s). */
  gopSeconds?: number;
  /** Target bitrate (with a matching VBV cap); absent: constant quality (CRF 23). */
  bitrateKbps?: number;
  /** The ffmpeg binary (default 'ffmpeg' on PATH). */
  binary?: string;
  /** Bytes queued on ffmpeg's stdin from which delta frames are dropped (default 1 MiB). */
  congestionBytes?: number;
  /** Bytes queued on ffmpeg's stdin beyond which even keyframes are dropped (default 4 MiB). */
  maxQueuedBytes?: number;
}

type TranscodedCodec = Exclude<VideoCodecName, 'h264'>;

/**
 * VP9 is decoded by libvpx: ffmpeg's own decoder splits a superframe and outputs every shown frame
 * in it, so an SVC picture (its spatial layers in one superframe) came out as one picture per
 * layer at each layer's size; libvpx outputs one picture per superframe, the top layer's.
 */
const DECODER: Partial<Record<VideoCodecName, string>> = { vp9: 'libvpx-vp9' };

/** The ffmpeg arguments: IVF on stdin → H264 Annex B with access unit delimiters on stdout. */
export function videoTranscodeArgs(options: VideoTranscoderOptions, codec?: TranscodedCodec): string[] {
  const gop = Math.max(1, Math.round((options.frameRate ?? 30) * (options.gopSeconds ?? 2)));
  // Why: 4:2:0 H264 needs even sizes and x264 refuses odd ones, which publishers send (a 180p
  // camera's lowest simulcast layer is 80x45): crop the odd row or column (no copy, no stretch).
  const even = 'crop=trunc(iw/2)*2:trunc(ih/2)*2';
  const maxHeight = options.maxHeight ? 2 * Math.floor(options.maxHeight / 2) : 0;
  const filters = maxHeight ? `${even},scale=-2:'min(ih,${maxHeight})'` : even;
  const rate = options.bitrateKbps
    ? [
        '-b:v',
        `${options.bitrateKbps}k`,
        '-maxrate',
        `${options.bitrateKbps}k`,
        '-bufsize',
        `${options.bitrateKbps * 2}k`,
      ]
    : [];
  return [
    // The IVF header says all ffmpeg needs: probing would hold back the first ~20 frames.
    ...['-probesize', '32', '-analyzeduration', '0', '-f', 'ivf'],
    ...(codec && DECODER[codec] ? ['-c:v', DECODER[codec]] : []),
    ...['-i', 'pipe:0'],
    // Level 4.1 (1080p30) whatever x264 infers from the IVF time base (1 kHz: it took 1000 fps and
    // wrote level 6.2, which some players refuse).
    ...['-vf', filters, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-level:v', '4.1'],
    ...['-preset', 'veryfast', '-tune', 'zerolatency', '-bf', '0', '-g', String(gop), ...rate],
    // One output picture per input picture, an IDR wherever the input has a keyframe.
    ...['-fps_mode', 'passthrough', '-force_key_frames', 'source', '-x264-params', 'aud=1'],
    ...['-flush_packets', '1', '-f', 'h264', 'pipe:1'],
  ];
}

/**
 * A FrameSink turning VP8/VP9/AV1 frames into H264 frames with one ffmpeg process (libx264).
 * Output picture n encodes input picture n (no B-frames, no frame-rate conversion), so each H264
 * frame takes the timestamp of its input frame from a queue; inputs the decoder never shows
 * (VP8 alt-ref frames) are not queued, and a VP9 superframe (an SVC picture) is queued once.
 *
 * Lifecycle: frames before the first keyframe are dropped; the first keyframe starts ffmpeg; `end()`
 * closes its input and resolves once the last frame was emitted. A failure of ffmpeg calls
 * `onFailed` once and later frames are ignored.
 */
export class VideoTranscoder implements FrameSink {
  private readonly options: VideoTranscoderOptions;
  private readonly log: Logger;
  private readonly splitter = new AccessUnitSplitter((nals) => this.onAccessUnit(nals));
  private process: FfmpegProcess | null = null;
  private codec: TranscodedCodec | null = null;
  private readonly pending: { ptsUs: number; keyframe: boolean }[] = [];
  private lastIvfPts = -1;
  private config: VideoConfig | null = null;
  private ended = false;
  private failed = false;
  private droppedWrites = 0;
  private keyframeAsked = false;

  constructor(options: VideoTranscoderOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'video-transcoder' });
  }

  /** Input frames not transcoded (ffmpeg behind, before the first keyframe, unsupported codec). */
  get dropped(): number {
    return this.droppedWrites + (this.process?.dropped ?? 0);
  }

  /** CPU seconds ffmpeg used so far. */
  cpuSeconds(): number {
    return this.process?.cpuSeconds() ?? 0;
  }

  /** ffmpeg's process id while it runs (for metrics and tests). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  write(frame: MediaFrame): void {
    if (this.ended || this.failed) return;
    if (frame.kind !== 'video' || frame.codec === 'h264' || (this.codec && frame.codec !== this.codec)) {
      this.droppedWrites++;
      return;
    }
    if (!this.process) {
      if (!frame.keyframe) {
        this.droppedWrites++;
        return;
      }
      this.start(frame.codec, frame);
    }
    this.feed(frame);
  }

  async end(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (!this.process) return;
    const exit = await this.process.stop();
    this.log.debug({ reason, exit: exit.reason, dropped: this.dropped }, 'video transcoder ended');
  }

  private start(codec: TranscodedCodec, first: VideoFrame): void {
    this.codec = codec;
    this.process = new FfmpegProcess({
      args: videoTranscodeArgs(this.options, codec),
      onStdout: (chunk) => this.splitter.push(chunk),
      onExit: (exit) => this.onExit(exit),
      logger: this.log,
      ...(this.options.binary ? { binary: this.options.binary } : {}),
      ...(this.options.congestionBytes ? { congestionBytes: this.options.congestionBytes } : {}),
      ...(this.options.maxQueuedBytes ? { maxQueuedBytes: this.options.maxQueuedBytes } : {}),
    });
    this.process.write(ivfFileHeader(codec, first.width, first.height), true);
  }

  private feed(frame: VideoFrame): void {
    // Why: encoders reject timestamps that do not increase; the queue keeps the real one.
    const ivfPts = Math.max(Math.round(frame.ptsUs), this.lastIvfPts + 1);
    const chunk = Buffer.concat([ivfFrameHeader(frame.data.length, ivfPts), frame.data]);
    if (!this.process!.write(chunk, frame.keyframe)) {
      // Ask once per run of dropped frames: only a keyframe lets ffmpeg decode again.
      if (!this.keyframeAsked) this.options.onKeyframeNeeded?.();
      this.keyframeAsked = true;
      return;
    }
    this.keyframeAsked = false;
    this.lastIvfPts = ivfPts;
    const shown = shownPictures(frame.codec, frame.data);
    for (let i = 0; i < shown; i++) this.pending.push({ ptsUs: frame.ptsUs, keyframe: frame.keyframe });
  }

  private onAccessUnit(nals: Buffer[]): void {
    const input = this.pending.shift();
    if (!input) {
      this.log.warn({ nals: nals.length }, 'h264 frame without a matching input frame');
      return;
    }
    const coded = nals.filter((nal) => nalType(nal) !== NAL_AUD);
    const sps = coded.filter((nal) => nalType(nal) === NAL_SPS);
    const pps = coded.filter((nal) => nalType(nal) === NAL_PPS);
    if (sps.length > 0 && pps.length > 0) this.updateConfig(sps, pps);
    if (!this.config) return;
    this.options.onFrame({
      kind: 'video',
      codec: 'h264',
      data: toAvcc(coded),
      keyframe: coded.some((nal) => nalType(nal) === NAL_IDR),
      ptsUs: input.ptsUs,
      width: this.config.width,
      height: this.config.height,
    });
  }

  private updateConfig(sps: Buffer[], pps: Buffer[]): void {
    const old = this.config;
    if (old?.sps?.[0]?.equals(sps[0]!) && old.pps?.[0]?.equals(pps[0]!)) return;
    const { width, height } = parseSps(sps[0]!);
    this.config = { codec: 'h264', width, height, sps, pps };
    this.options.onConfig(this.config);
  }

  private onExit(exit: FfmpegExit): void {
    if (!exit.failed) {
      this.splitter.flush();
      return;
    }
    if (this.failed) return;
    this.failed = true;
    this.options.onFailed(exit.reason);
  }
}
