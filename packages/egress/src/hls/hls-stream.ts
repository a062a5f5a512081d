import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { AudioFrame, FrameSink, MediaFrame, VideoFrame } from '../media/frame.ts';
import { codecString, type Fmp4Track, VIDEO_TIMESCALE } from '../mux/fmp4-init.ts';
import { h264ConfigOf } from '../mux/h264-config.ts';
import type { HlsFileKind, HlsFileListener } from '../storage/hls-upload-mirror.ts';
import { writeFileAtomic } from './atomic-file.ts';
import type { LivePlaylist } from './hls-http.ts';
import { HlsTrack, MEDIA_PLAYLIST_FILE } from './hls-track.ts';
import {
  type MasterAudio,
  type MasterVideo,
  renderMasterPlaylist,
  type StreamVariants,
} from './master-playlist.ts';

export const MASTER_PLAYLIST_FILE = 'master.m3u8';

/** The tracks a stream carries: H264 video, and Opus and/or AAC audio renditions. */
export type HlsTrackKind = 'video' | 'opus' | 'aac';

/** Each track's directory under the stream's. */
const TRACK_DIRS: Record<HlsTrackKind, string> = { video: 'video', opus: 'audio-opus', aac: 'audio-aac' };
const TRACK_IDS: Record<HlsTrackKind, number> = { video: 1, opus: 2, aac: 3 };

export interface HlsStreamOptions {
  /** The stream's directory: master.m3u8 and one directory per track. */
  dir: string;
  segmentSeconds: number;
  /** LL-HLS part duration; 0: plain HLS. */
  partSeconds: number;
  windowSegments: number;
  /** The tracks to expect: the master playlist is written once each has media. */
  tracks: HlsTrackKind[];
  logger: Logger;
  /** Wall clock (ms) for EXT-X-PROGRAM-DATE-TIME; Date.now by default. */
  now?: () => number;
  /** A video segment is overdue and no keyframe came: ask the publisher for one. */
  onKeyframeNeeded?: () => void;
  /** Writing failed (disk full, directory gone): the stream stopped; the owner ends the egress. */
  onError?: (err: Error) => void;
  /** A track's media file landed (HlsTrackOptions.onFileWritten): egress stats. */
  onFileWritten?: (bytes: number, segment: boolean) => void;
  /**
   * Hears every file written (init, part, segment, media and master playlists) and deleted, in the
   * order they happen, with paths relative to `dir` (`video/seg-3.m4s`, `master.m3u8`): a playlist
   * is reported after every file it names. An upload mirror is the listener.
   */
  fileListener?: HlsFileListener;
  /** The master playlist was written (after the file listener heard of it): its variants. */
  onMasterWritten?: (variants: StreamVariants) => void;
}

/**
 * One HLS stream (a participant's video and audio) written as CMAF tracks with LL-HLS playlists
 * and a master playlist: the FrameSink an HLS egress feeds. Video is H264 (anything else must be
 * transcoded first); audio renditions are Opus and/or AAC, each its own track and playlist.
 *
 * Lifecycle: construct → write() frames (a track starts at its first usable frame: video at a
 * keyframe carrying SPS/PPS) → end(reason) writes ENDLIST everywhere. `livePlaylist()` gives the
 * HTTP handler what blocking reloads wait on.
 */
export class HlsStream implements FrameSink {
  private readonly options: HlsStreamOptions;
  private readonly log: Logger;
  private readonly tracks = new Map<HlsTrackKind, { track: HlsTrack; info: Fmp4Track }>();
  private readonly dropped = new Set<string>();
  private wallClockAtZeroMs: number | null = null;
  private masterSegments = -1;
  private io: Promise<void>;
  private failed = false;
  private ended = false;

  constructor(options: HlsStreamOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'hls' });
    this.io = mkdir(options.dir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => this.fail(err),
    );
  }

  write(frame: MediaFrame): void {
    if (this.ended || this.failed) return;
    this.wallClockAtZeroMs ??= (this.options.now ?? Date.now)() - frame.ptsUs / 1000;
    const kind = this.kindOf(frame);
    if (!kind) return;
    const entry = this.tracks.get(kind) ?? this.openTrack(kind, frame);
    if (!entry) return;
    entry.track.write(frame);
    this.maybeWriteMaster();
  }

  async end(reason: string): Promise<void> {
    if (this.ended) return this.io;
    this.ended = true;
    await Promise.all([...this.tracks.values()].map(({ track }) => track.end()));
    this.masterSegments = -1;
    this.maybeWriteMaster();
    await this.io;
    this.log.info({ reason, tracks: [...this.tracks.keys()] }, 'hls stream ended');
  }

  /** The live media playlist at a path relative to the stream's directory (`video/index.m3u8`). */
  livePlaylist(relativePath: string): LivePlaylist | undefined {
    for (const [kind, { track }] of this.tracks) {
      if (relativePath.startsWith(`${TRACK_DIRS[kind]}/`)) {
        return { waiters: track.waiters, targetDurationS: track.targetDurationSeconds };
      }
    }
    return undefined;
  }

  private kindOf(frame: MediaFrame): HlsTrackKind | null {
    const kind: HlsTrackKind = frame.kind === 'video' ? 'video' : frame.codec;
    // Why: VP8/VP9/AV1 do not go into this writer's fMP4; the egress transcodes them first.
    if ((frame.kind === 'video' && frame.codec !== 'h264') || !this.options.tracks.includes(kind)) {
      this.dropOnce(`${frame.kind}/${frame.codec}`);
      return null;
    }
    return kind;
  }

  private openTrack(kind: HlsTrackKind, frame: MediaFrame): { track: HlsTrack; info: Fmp4Track } | null {
    const info = frame.kind === 'video' ? this.videoTrackInfo(frame) : audioTrackInfo(frame);
    if (!info) return null;
    const dir = join(this.options.dir, TRACK_DIRS[kind]);
    const track = new HlsTrack(info, {
      dir,
      segmentSeconds: this.options.segmentSeconds,
      partSeconds: this.options.partSeconds,
      windowSegments: this.options.windowSegments,
      wallClockAtZeroMs: this.wallClockAtZeroMs!,
      followsCuts: kind !== 'video' && this.options.tracks.includes('video'),
      onKeyframeNeeded: this.options.onKeyframeNeeded,
      onFileWritten: this.options.onFileWritten,
      onFile: (name, fileKind) => this.notifyFile(`${TRACK_DIRS[kind]}/${name}`, fileKind),
      onDeleted: (name) => this.notifyFile(`${TRACK_DIRS[kind]}/${name}`, null),
      onSegmentStarted: (ptsUs) => {
        if (kind !== 'video') return;
        for (const [other, entry] of this.tracks) if (other !== 'video') entry.track.cutAt(ptsUs);
      },
      onError: (err) => this.fail(err),
    });
    const entry = { track, info };
    this.tracks.set(kind, entry);
    this.log.debug({ kind, codec: codecString(info) }, 'hls track started');
    return entry;
  }

  private videoTrackInfo(frame: VideoFrame): Fmp4Track | null {
    const config = frame.keyframe ? h264ConfigOf(frame.data, frame) : null;
    if (!config) {
      // Why: a decoder can start only at a keyframe with its SPS/PPS; ask for one once.
      if (!this.dropped.has('video/waiting')) this.options.onKeyframeNeeded?.();
      this.dropped.add('video/waiting');
      return null;
    }
    return { id: TRACK_IDS.video, kind: 'video', timescale: VIDEO_TIMESCALE, config };
  }

  /** Writes the master playlist once every expected track has media, then at each new segment. */
  private maybeWriteMaster(): void {
    if (this.tracks.size < this.options.tracks.length) return;
    const entries = this.options.tracks.map((kind) => ({ kind, ...this.tracks.get(kind)! }));
    const stats = entries.map((e) => e.track.stats());
    if (stats.some((s) => s.segments === 0 && s.parts === 0)) return;
    const segments = stats[0]!.segments;
    if (segments === this.masterSegments) return;
    this.masterSegments = segments;
    const variants = masterVariants(entries, stats);
    const text = renderMasterPlaylist(variants.video, variants.audio);
    const path = join(this.options.dir, MASTER_PLAYLIST_FILE);
    // Why: the master names the media playlists; it goes out only once they are on disk.
    const written = Promise.all(entries.map((e) => e.track.flushed()));
    this.io = this.io
      .then(() => written)
      .then(() => writeFileAtomic(path, text))
      .then(() => {
        this.notifyFile(MASTER_PLAYLIST_FILE, 'playlist');
        this.options.onMasterWritten?.(variants);
      })
      .catch((err: unknown) => this.fail(err));
  }

  /** Tells the file listener (`kind` null: deleted); its failure is logged, never the stream's. */
  private notifyFile(path: string, kind: HlsFileKind | null): void {
    const listener = this.options.fileListener;
    if (!listener) return;
    try {
      if (kind) listener.onFile(path, kind);
      else listener.onDeleted(path);
    } catch (err) {
      this.log.warn({ err, path }, 'hls file listener failed');
    }
  }

  private dropOnce(what: string): void {
    if (this.dropped.has(what)) return;
    this.dropped.add(what);
    this.log.warn({ what }, 'hls stream drops frames it cannot carry');
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const error = err instanceof Error ? err : new Error(String(err));
    this.log.error({ err: error }, 'hls stream failed');
    this.options.onError?.(error);
  }
}

type TrackEntry = { kind: HlsTrackKind; track: HlsTrack; info: Fmp4Track };

/** What the master playlist lists: each track's playlist, codecs and measured rates. */
function masterVariants(entries: TrackEntry[], stats: ReturnType<HlsTrack['stats']>[]): StreamVariants {
  let video: MasterVideo | null = null;
  const audio: MasterAudio[] = [];
  for (const [i, e] of entries.entries()) {
    const { peakBps, averageBps, frameRate } = stats[i]!;
    const uri = `${TRACK_DIRS[e.kind]}/${MEDIA_PLAYLIST_FILE}`;
    const codecs = codecString(e.info);
    if (e.info.kind === 'video') {
      const { width, height } = e.info.config;
      video = { uri, codecs, width, height, frameRate, peakBps, averageBps };
      continue;
    }
    const name = e.kind === 'opus' ? 'Opus' : 'AAC';
    audio.push({ uri, codecs, name, channels: e.info.config.channels, peakBps, averageBps });
  }
  return { video, audio };
}

function audioTrackInfo(frame: AudioFrame): Fmp4Track {
  const config = { codec: frame.codec, sampleRate: frame.sampleRate, channels: frame.channels };
  return { id: TRACK_IDS[frame.codec], kind: 'audio', timescale: frame.sampleRate, config };
}
