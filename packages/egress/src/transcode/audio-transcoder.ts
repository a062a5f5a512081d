import type { Logger } from '../../../../src/lib/logger.ts';
import type { AudioConfig, AudioFrame, FrameSink, MediaFrame } from '../media/frame.ts';
import { ADTS_SAMPLE_RATES, type AdtsFrame, AdtsSplitter, audioSpecificConfig } from './adts.ts';
import { type FfmpegExit, FfmpegProcess } from './ffmpeg-process.ts';
import { OggOpusWriter, opusPacketSamples } from './ogg-opus.ts';

export interface AudioTranscoderOptions {
  logger: Logger;
  /** Each AAC frame (1024 samples), in order. */
  onFrame: (frame: AudioFrame) => void;
  /** Once, before the first frame. */
  onConfig: (config: AudioConfig) => void;
  /** ffmpeg crashed, was killed or is missing: the transcoder is over (called once). */
  onFailed: (reason: string) => void;
  /** AAC bitrate (default 128 kbps). */
  bitrateKbps?: number;
  /** The ffmpeg binary (default 'ffmpeg' on PATH). */
  binary?: string;
}

const OPUS_RATE = 48000;
const AAC_FRAME_SAMPLES = 1024;
/** ffmpeg's AAC encoder delay: its first frame only primes the decoder. */
const AAC_PRIMING_FRAMES = 1;

/**
 * The ffmpeg arguments: Ogg Opus on stdin → AAC-LC in ADTS on stdout. Gaps in the Ogg granule
 * positions (DTX, lost packets) become silence as soon as they exceed one 20 ms frame, so the
 * count of output samples follows the input timeline.
 */
export function audioTranscodeArgs(options: AudioTranscoderOptions, channels: number): string[] {
  return [
    ...['-f', 'ogg', '-i', 'pipe:0', '-af', 'aresample=async=1:min_hard_comp=0.02:first_pts=0'],
    ...['-c:a', 'aac', '-b:a', `${options.bitrateKbps ?? 128}k`, '-ar', String(OPUS_RATE)],
    ...['-ac', String(channels), '-flush_packets', '1', '-f', 'adts', 'pipe:1'],
  ];
}

/**
 * A FrameSink turning Opus packets into AAC frames with one ffmpeg process. Output frame n holds
 * input samples from (n - 1) × 1024 on (the first one only primes the decoder and is not emitted),
 * so its pts is the first input pts plus that many samples.
 *
 * Lifecycle: the first Opus packet starts ffmpeg; `end()` closes its input and resolves once the
 * last frame was emitted. A failure of ffmpeg calls `onFailed` once and later frames are ignored.
 */
export class AudioTranscoder implements FrameSink {
  private readonly options: AudioTranscoderOptions;
  private readonly log: Logger;
  private readonly ogg = new OggOpusWriter();
  private readonly splitter = new AdtsSplitter((frame) => this.onAdtsFrame(frame));
  private process: FfmpegProcess | null = null;
  private firstPtsUs = 0;
  private channels = 2;
  /** End of the last packet written, in 48 kHz samples from the first packet's start. */
  private granule = 0;
  private outputFrames = 0;
  private config: AudioConfig | null = null;
  private ended = false;
  private failed = false;

  constructor(options: AudioTranscoderOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'audio-transcoder' });
  }

  /** Packets not transcoded (ffmpeg behind). */
  get dropped(): number {
    return this.process?.dropped ?? 0;
  }

  cpuSeconds(): number {
    return this.process?.cpuSeconds() ?? 0;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  write(frame: MediaFrame): void {
    if (this.ended || this.failed || frame.kind !== 'audio' || frame.codec !== 'opus') return;
    if (!this.process) this.start(frame);
    const samples =
      frame.samples > 0
        ? Math.round((frame.samples * OPUS_RATE) / frame.sampleRate)
        : opusPacketSamples(frame.data);
    const start = Math.round(((frame.ptsUs - this.firstPtsUs) * OPUS_RATE) / 1e6);
    // Why: a packet overlapping the previous one (jitter in the publisher's clock) must not move
    // the granule back; a later start is a gap that ffmpeg fills with silence.
    const granule = Math.max(start, this.granule) + samples;
    if (this.process!.write(this.ogg.packet(frame.data, granule), true)) this.granule = granule;
  }

  async end(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (!this.process) return;
    const exit = await this.process.stop();
    this.log.debug({ reason, exit: exit.reason, frames: this.outputFrames }, 'audio transcoder ended');
  }

  private start(first: AudioFrame): void {
    this.firstPtsUs = first.ptsUs;
    this.channels = Math.min(2, Math.max(1, first.channels));
    this.process = new FfmpegProcess({
      args: audioTranscodeArgs(this.options, this.channels),
      onStdout: (chunk) => this.splitter.push(chunk),
      onExit: (exit) => this.onExit(exit),
      logger: this.log,
      // Opus packets are all independent: about a minute of them may wait for a slow ffmpeg.
      maxQueuedBytes: 256 * 1024,
      ...(this.options.binary ? { binary: this.options.binary } : {}),
    });
    this.process.write(this.ogg.headers(this.channels), true);
  }

  private onAdtsFrame(adts: AdtsFrame): void {
    const index = this.outputFrames++;
    if (index < AAC_PRIMING_FRAMES) return;
    const sampleRate = ADTS_SAMPLE_RATES[adts.sampleRateIndex] ?? OPUS_RATE;
    if (!this.config) {
      this.config = {
        codec: 'aac',
        sampleRate,
        channels: adts.channelConfig,
        audioSpecificConfig: audioSpecificConfig(adts.objectType, adts.sampleRateIndex, adts.channelConfig),
      };
      this.options.onConfig(this.config);
    }
    const samples = (index - AAC_PRIMING_FRAMES) * AAC_FRAME_SAMPLES;
    this.options.onFrame({
      kind: 'audio',
      codec: 'aac',
      data: adts.data,
      ptsUs: this.firstPtsUs + Math.round((samples * 1e6) / sampleRate),
      samples: AAC_FRAME_SAMPLES,
      sampleRate,
      channels: adts.channelConfig,
    });
  }

  private onExit(exit: FfmpegExit): void {
    if (!exit.failed || this.failed) return;
    this.failed = true;
    this.options.onFailed(exit.reason);
  }
}
