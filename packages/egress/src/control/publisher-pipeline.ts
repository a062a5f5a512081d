import type { ParticipantId, RoomId } from '../../../../src/lib/ids.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { EgressKind } from '../../../../src/protocol/egress.ts';
import type { EgressSource, PublisherTap, RelayedTrack } from '../../../../src/sfu/egress-backend.ts';
import type { LivePlaylist } from '../hls/hls-http.ts';
import type { MediaFrame } from '../media/frame.ts';
import { TapReader } from '../media/tap-reader.ts';
import type { Timeline } from '../media/timeline.ts';
import { type OutputContext, openOutput, type PublisherOutput } from './publisher-output.ts';

/**
 * One publisher's tracks into one output: a tap on the worker hosting them, the TapReader
 * (reorder, depacketize, A/V timeline) and the output of the egress's kind (an HLS stream, a
 * recording file, a MoQ broadcast), which may transcode on its way.
 *
 * Lifecycle: start() taps and opens the output → frames flow → the publisher leaving (`gone`) or
 * the output failing calls `onEnd` → stop() closes the reader and the tap, then finishes the
 * output (files closed with their index).
 */
export interface PipelineOptions {
  source: EgressSource;
  roomId: RoomId;
  participantId: ParticipantId;
  kind: EgressKind;
  /** Where this publisher's files go (the output adds its own names). */
  dir: string;
  /** Simulcast layer to follow (VP9 SVC: the highest spatial layer kept); -1: the highest. */
  layer: number;
  output: Omit<OutputContext, 'dir' | 'requestKeyframe' | 'onFailed' | 'tracks'>;
  logger: Logger;
  /** Shared by a room egress's publishers, so their times line up. */
  timeline?: Timeline;
  /** The first frame reached the output. */
  onActive(): void;
  /** The pipeline cannot go on: the publisher left, or its output failed. */
  onEnd(reason: string, failed: boolean): void;
}

export class PublisherPipeline {
  readonly #o: PipelineOptions;
  #tap: PublisherTap | undefined;
  #reader: TapReader | undefined;
  #output: PublisherOutput | undefined;
  #active = false;
  #stopped = false;
  /** Leaves the output's last bytes and CPU time in the process's egress stats. */
  #untrack: (() => void) | undefined;

  constructor(options: PipelineOptions) {
    this.#o = options;
  }

  /** Files written so far, relative to the egress directory's parent. */
  outputs(): { playlist: string | null; files: string[]; moqPath: string | null } {
    return this.#output?.outputs() ?? { playlist: null, files: [], moqPath: null };
  }

  /** The live HLS playlist at a path relative to this publisher's directory. */
  livePlaylist(relativePath: string): LivePlaylist | undefined {
    return this.#output?.livePlaylist?.(relativePath);
  }

  /** Absolute paths of the files written (recordings), for the upload once they are finished. */
  get dir(): string {
    return this.#o.dir;
  }

  transcodeCpuSeconds(): number {
    return this.#output?.transcodeCpuSeconds() ?? 0;
  }

  async start(): Promise<void> {
    const o = this.#o;
    const tap = await o.source.tap(o.roomId, o.participantId);
    this.#tap = tap;
    try {
      this.#output = await openOutput(o.kind, {
        ...o.output,
        dir: o.dir,
        tracks: tap.tracks,
        requestKeyframe: () => this.#requestKeyframe(),
        onFailed: (reason) => o.onEnd(reason, true),
      });
    } catch (err) {
      tap.port.close();
      throw err;
    }
    const output = this.#output;
    this.#untrack = o.output.stats?.track({
      bytesWritten: () => output.bytesWritten?.() ?? 0,
      transcodeCpuSeconds: () => output.transcodeCpuSeconds(),
    });
    tap.port.on('close', () => {
      // A port closed by the worker side without `gone` (the worker died): the tap is over.
      if (!this.#stopped) o.onEnd('publisher_lost', false);
    });
    this.#reader = new TapReader(tap.port, tap.tracks, {
      logger: o.logger,
      layer: o.layer < 0 ? 'highest' : o.layer,
      ...(o.timeline && { timeline: o.timeline }),
      onFrame: (_track, frame) => this.#write(frame),
      onGone: () => o.onEnd('participant_left', false),
      onTracks: (tracks) => this.#output?.addTracks?.(tracks),
    });
  }

  async stop(reason: string): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reader?.close();
    this.#tap?.port.close();
    try {
      await this.#output?.end(reason);
    } finally {
      this.#untrack?.();
    }
  }

  #write(frame: MediaFrame): void {
    if (this.#stopped || !this.#output) return;
    this.#output.write(frame);
    if (this.#active || !(this.#output.started?.() ?? true)) return;
    this.#active = true;
    this.#o.onActive();
  }

  #requestKeyframe(): void {
    const video = this.#tap?.tracks.find((t: RelayedTrack) => t.kind === 'video');
    if (video && !this.#stopped)
      this.#tap?.port.postMessage({ t: 'keyframe', relayId: video.relayId, ssrc: 0 });
  }
}
