import * as Moq from '@moq/net';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { AudioFrame, FrameSink, MediaFrame, VideoFrame } from '../media/frame.ts';
import { H264ParameterSets } from './codec-string.ts';
import {
  AUDIO_TRACK,
  audioRendition,
  catalogOf,
  type HangAudioRendition,
  type HangCatalog,
  type HangVideoRendition,
  VIDEO_TRACK,
  videoRendition,
} from './hang-catalog.ts';

/** One frame in the hang legacy container, encoded once and shared by every viewer. */
export interface EncodedFrame {
  payload: Uint8Array;
  timestamp: Moq.Time.Timestamp;
}

export type MediaTrackName = typeof VIDEO_TRACK | typeof AUDIO_TRACK;

/** What a broadcast feeds each viewer (a MoQ session's copy of the broadcast). */
export interface BroadcastViewer {
  catalog(catalog: HangCatalog): void;
  /** A new group starts (a video keyframe; for audio every `audioGroupUs`). */
  startGroup(track: MediaTrackName): void;
  frame(track: MediaTrackName, frame: EncodedFrame): void;
  /** The broadcast ended: close the viewer's copy. */
  end(): void;
}

export interface MoqBroadcastOptions {
  path: string;
  logger: Logger;
  /** A group (keyframe to keyframe) larger than this drops frames until the next keyframe. */
  maxGroupBytes?: number;
  /** Audio has no keyframes: a new group this often, where a late viewer starts. */
  audioGroupUs?: number;
  /** Asked when frames were dropped and only a keyframe brings the video back. */
  onKeyframeNeeded?: () => void;
  /** Called once when the broadcast ends (the server forgets it). */
  onEnd?: (broadcast: MoqBroadcast) => void;
}

export interface MoqBroadcastStats {
  framesIn: number;
  /** Frames not published: before the first keyframe, or past a group's byte bound. */
  framesDropped: number;
  groups: number;
  viewers: number;
}

const DEFAULT_MAX_GROUP_BYTES = 8 * 1024 * 1024;
const DEFAULT_AUDIO_GROUP_US = 500_000;

interface GroupLog {
  frames: EncodedFrame[];
  bytes: number;
  startUs: number;
}

/**
 * One egress's MoQ broadcast: a FrameSink publishing a hang catalog and one track per media
 * track, a group per video keyframe. It keeps only the current group of each track (from its
 * keyframe), which a viewer joining late gets first: memory is bounded by `maxGroupBytes` per
 * track whatever the number of viewers (frames are shared, never copied per viewer).
 */
export class MoqBroadcast implements FrameSink {
  readonly path: string;
  readonly #log: Logger;
  readonly #maxGroupBytes: number;
  readonly #audioGroupUs: number;
  readonly #options: MoqBroadcastOptions;
  readonly #viewers = new Set<BroadcastViewer>();
  readonly #groups = new Map<MediaTrackName, GroupLog>();
  readonly #h264 = new H264ParameterSets();
  #video: HangVideoRendition | null = null;
  #audio: HangAudioRendition | null = null;
  #catalog: HangCatalog = {};
  #catalogJson = '{}';
  /** Video frames are skipped until the next keyframe (start, or a group past its bound). */
  #waitKeyframe = true;
  #ended = false;
  readonly #stats = { framesIn: 0, framesDropped: 0, groups: 0 };

  constructor(options: MoqBroadcastOptions) {
    this.path = options.path;
    this.#options = options;
    this.#log = options.logger.child({ moqPath: options.path });
    this.#maxGroupBytes = options.maxGroupBytes ?? DEFAULT_MAX_GROUP_BYTES;
    this.#audioGroupUs = options.audioGroupUs ?? DEFAULT_AUDIO_GROUP_US;
  }

  write(frame: MediaFrame): void {
    if (this.#ended) return;
    this.#stats.framesIn++;
    if (frame.kind === 'video') this.#writeVideo(frame);
    else this.#writeAudio(frame);
  }

  #writeVideo(frame: VideoFrame): void {
    if (frame.keyframe) {
      this.#waitKeyframe = false;
      this.#setVideo(videoRendition(frame));
      this.#startGroup(VIDEO_TRACK, frame.ptsUs);
    } else if (this.#waitKeyframe) {
      this.#stats.framesDropped++;
      return;
    }
    const data = frame.codec === 'h264' ? this.#h264.toAnnexB(frame.data, frame.keyframe) : frame.data;
    this.#append(VIDEO_TRACK, encodeLegacy(data, frame.ptsUs));
  }

  #writeAudio(frame: AudioFrame): void {
    const rendition = audioRendition(frame);
    if (!rendition) {
      this.#stats.framesDropped++;
      return;
    }
    this.#setAudio(rendition);
    const group = this.#groups.get(AUDIO_TRACK);
    if (!group || frame.ptsUs - group.startUs >= this.#audioGroupUs)
      this.#startGroup(AUDIO_TRACK, frame.ptsUs);
    this.#append(AUDIO_TRACK, encodeLegacy(frame.data, frame.ptsUs));
  }

  #startGroup(track: MediaTrackName, ptsUs: number): void {
    this.#groups.set(track, { frames: [], bytes: 0, startUs: ptsUs });
    this.#stats.groups++;
    for (const viewer of this.#viewers) viewer.startGroup(track);
  }

  #append(track: MediaTrackName, frame: EncodedFrame): void {
    const group = this.#groups.get(track)!;
    // Why: without a keyframe for this long the group would grow without bound; a late viewer
    // could not start anywhere else, so stop the group here and wait for the next keyframe.
    if (group.bytes + frame.payload.byteLength > this.#maxGroupBytes) {
      this.#stats.framesDropped++;
      if (track === VIDEO_TRACK && !this.#waitKeyframe) {
        this.#waitKeyframe = true;
        this.#log.warn({ bytes: group.bytes }, 'moq group too large, waiting for a keyframe');
        this.#options.onKeyframeNeeded?.();
      }
      return;
    }
    group.frames.push(frame);
    group.bytes += frame.payload.byteLength;
    for (const viewer of this.#viewers) viewer.frame(track, frame);
  }

  #setVideo(rendition: HangVideoRendition): void {
    this.#video = rendition;
    this.#publishCatalog();
  }

  #setAudio(rendition: HangAudioRendition): void {
    if (
      this.#audio?.sampleRate === rendition.sampleRate &&
      this.#audio.numberOfChannels === rendition.numberOfChannels
    ) {
      return;
    }
    this.#audio = rendition;
    this.#publishCatalog();
  }

  #publishCatalog(): void {
    const catalog = catalogOf(this.#video, this.#audio);
    const json = JSON.stringify(catalog);
    if (json === this.#catalogJson) return;
    this.#catalog = catalog;
    this.#catalogJson = json;
    this.#log.info({ catalog }, 'moq catalog updated');
    for (const viewer of this.#viewers) viewer.catalog(catalog);
  }

  /** Adds a viewer: it gets the catalog, then each track's current group from its start. */
  attach(viewer: BroadcastViewer): () => void {
    if (this.#ended) {
      viewer.end();
      return () => {};
    }
    this.#viewers.add(viewer);
    if (this.#video || this.#audio) viewer.catalog(this.#catalog);
    for (const [track, group] of this.#groups) {
      viewer.startGroup(track);
      for (const frame of group.frames) viewer.frame(track, frame);
    }
    return () => this.#viewers.delete(viewer);
  }

  stats(): MoqBroadcastStats {
    return { ...this.#stats, viewers: this.#viewers.size };
  }

  async end(reason: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#log.info({ reason, ...this.stats() }, 'moq broadcast ended');
    for (const viewer of this.#viewers) viewer.end();
    this.#viewers.clear();
    this.#groups.clear();
    this.#options.onEnd?.(this);
  }
}

/** The hang legacy container: the timestamp in microseconds as a QUIC varint, then the payload. */
export function encodeLegacy(data: Uint8Array, ptsUs: number): EncodedFrame {
  // Why: a varint has no sign; a frame stamped before the timeline origin plays at its start.
  const us = Math.max(0, Math.round(ptsUs));
  const prefix = Moq.Varint.encode(us);
  const payload = new Uint8Array(prefix.byteLength + data.byteLength);
  payload.set(prefix, 0);
  payload.set(data, prefix.byteLength);
  return { payload, timestamp: Moq.Time.Timestamp.fromMicros(us) };
}
