import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MediaFrame } from '../media/frame.ts';
import { Fmp4Fragmenter } from '../mux/fmp4-fragmenter.ts';
import type { Fmp4Track } from '../mux/fmp4-init.ts';
import type { HlsFileKind } from '../storage/hls-upload-mirror.ts';
import { writeFileAtomic } from './atomic-file.ts';
import {
  type PlaylistPart,
  type PlaylistSegment,
  partUri,
  renderMediaPlaylist,
  segmentUri,
} from './media-playlist.ts';
import { PlaylistWaiters } from './playlist-waiters.ts';

export const INIT_FILE = 'init.mp4';
export const MEDIA_PLAYLIST_FILE = 'index.m3u8';

export interface HlsTrackOptions {
  /** The track's own directory: init.mp4, index.m3u8, seg-<msn>.m4s, part-<msn>.<n>.m4s. */
  dir: string;
  segmentSeconds: number;
  /** 0: no LL-HLS parts (a segment is one fragment). */
  partSeconds: number;
  windowSegments: number;
  /** Wall-clock ms at ptsUs 0 (EXT-X-PROGRAM-DATE-TIME). */
  wallClockAtZeroMs: number;
  /** Audio beside video: segments are cut where the video's were (`cutAt`), so they line up. */
  followsCuts: boolean;
  /** Video: a segment is overdue and no keyframe came (the tap asks the publisher for one). */
  onKeyframeNeeded?: () => void;
  /** A segment after the first started at this presentation time. */
  onSegmentStarted?: (ptsUs: number) => void;
  /** A file could not be written (disk full…): the track stops. */
  onError: (err: Error) => void;
  /** A media file landed (`segment`: a complete segment; else the init segment or a part): stats. */
  onFileWritten?: (bytes: number, segment: boolean) => void;
  /** Every file written (name in `dir`), playlists included, in the order they land (a mirror). */
  onFile?: (name: string, kind: HlsFileKind) => void;
  /** A segment or part deleted after leaving the window (name in `dir`). */
  onDeleted?: (name: string) => void;
}

interface OpenSegment {
  msn: number;
  startDts: number;
  endDts: number;
  programDateMs: number;
  parts: PlaylistPart[];
  chunks: Buffer[];
  keyframeAsked: boolean;
}

/**
 * One track of an HLS stream: frames → CMAF parts and segments on disk and a media playlist.
 * Segments start at a video keyframe once `segmentSeconds` passed (audio: where the video cut, or
 * by time when alone); each LL-HLS part is one fragment of at most `partSeconds`. Files are
 * written in order through one queue, each atomically, and the playlist is written after the
 * files it names; blocking reloads are released once it is.
 *
 * Lifecycle: construct (writes the init segment) → write() frames → end() (ENDLIST).
 */
export class HlsTrack {
  readonly waiters = new PlaylistWaiters();
  private readonly fragmenter: Fmp4Fragmenter;
  private readonly options: HlsTrackOptions;
  private readonly timescale: number;
  private readonly segments: Array<PlaylistSegment & { bytes: number }> = [];
  private readonly retired: PlaylistSegment[] = [];
  private current: OpenSegment | null = null;
  private nextMsn = 0;
  private cuts: number[] = [];
  private lastDts = -1;
  private lastFrameTicks = 0;
  private targetDurationS: number;
  private io: Promise<void> = Promise.resolve();
  private dirty = false;
  private failed = false;
  private ended = false;
  private frames = 0;
  private totalBytes = 0;
  private totalTicks = 0;
  private peakBps = 0;

  constructor(track: Fmp4Track, options: HlsTrackOptions) {
    this.fragmenter = new Fmp4Fragmenter(track);
    this.options = options;
    this.timescale = track.timescale;
    this.targetDurationS = Math.max(1, Math.round(options.segmentSeconds));
    const init = this.fragmenter.init();
    this.enqueue(async () => {
      await mkdir(options.dir, { recursive: true });
      await writeFileAtomic(join(options.dir, INIT_FILE), init);
      options.onFileWritten?.(init.length, false);
      options.onFile?.(INIT_FILE, 'init');
    });
  }

  write(frame: MediaFrame): void {
    if (this.ended || this.failed) return;
    const dts = this.fragmenter.dtsOf(frame);
    if (this.current && this.shouldCutSegment(frame, dts)) {
      this.closePart(dts);
      this.closeSegment();
    } else if (this.partWouldOverflow(dts)) {
      this.closePart(dts);
    }
    if (!this.current) this.openSegment(dts, frame.ptsUs);
    this.fragmenter.push(frame);
    this.frames += 1;
    this.lastFrameTicks =
      frame.kind === 'audio' ? (frame.samples * this.timescale) / frame.sampleRate : dts - this.lastDts;
    this.lastDts = dts;
    this.publishIfDirty();
  }

  /** Audio beside video: start a new segment at the first frame from `ptsUs` on. */
  cutAt(ptsUs: number): void {
    this.cuts.push(ptsUs);
  }

  /** Writes what is left and the playlist with EXT-X-ENDLIST; resolves once everything is on disk. */
  async end(): Promise<void> {
    if (this.ended) return this.io;
    if (this.current) {
      this.closePart(undefined);
      this.closeSegment();
    }
    this.ended = true;
    this.dirty = true;
    this.publishIfDirty();
    await this.io;
    this.waiters.releaseAll();
  }

  /** The media playlist as last written. */
  playlist(): string {
    return renderMediaPlaylist({
      targetDurationS: this.targetDurationS,
      partTargetS: this.options.partSeconds,
      initUri: INIT_FILE,
      segments: this.segments,
      current: this.current,
      ended: this.ended,
    });
  }

  /** Resolves once every file queued so far is written. */
  flushed(): Promise<void> {
    return this.io;
  }

  get targetDurationSeconds(): number {
    return this.targetDurationS;
  }

  /** Bitrates and frame rate measured over what was written (for the master playlist). */
  stats(): { peakBps: number; averageBps: number; frameRate: number; segments: number; parts: number } {
    const seconds = this.totalTicks / this.timescale;
    const partBytes = this.current?.chunks.reduce((sum, c) => sum + c.length, 0) ?? 0;
    const partSeconds = this.current ? (this.current.endDts - this.current.startDts) / this.timescale : 0;
    // Before the first segment is complete, the parts so far give the estimate.
    const estimateBps = partSeconds > 0 ? (partBytes * 8) / partSeconds : 0;
    return {
      peakBps: Math.max(this.peakBps, this.segments.length === 0 ? estimateBps : 0),
      averageBps: seconds > 0 ? (this.totalBytes * 8) / seconds : estimateBps,
      frameRate: seconds > 0 ? this.frames / (seconds + partSeconds) : 0,
      segments: this.segments.length + this.retired.length,
      parts: this.current?.parts.length ?? 0,
    };
  }

  private shouldCutSegment(frame: MediaFrame, dts: number): boolean {
    const current = this.current!;
    const elapsed = dts - current.startDts;
    const segmentTicks = this.options.segmentSeconds * this.timescale;
    // Why: pts rounding can land a keyframe a tick before the boundary; half a millisecond is plenty.
    const due = elapsed >= segmentTicks - this.timescale / 2000;
    if (frame.kind === 'video') {
      if (due && !frame.keyframe && !current.keyframeAsked) {
        current.keyframeAsked = true;
        this.options.onKeyframeNeeded?.();
      }
      return due && frame.keyframe;
    }
    const halfFrameUs = (frame.samples * 1e6) / frame.sampleRate / 2;
    if (this.cuts.length > 0 && frame.ptsUs >= this.cuts[0]! - halfFrameUs) {
      this.cuts = this.cuts.filter((cut) => cut > frame.ptsUs + halfFrameUs);
      return true;
    }
    // Why: audio following a video that stalled still gets segments, three targets at most.
    return this.options.followsCuts ? elapsed >= 3 * segmentTicks : due;
  }

  private partWouldOverflow(dts: number): boolean {
    const start = this.fragmenter.pendingStartDts;
    if (this.options.partSeconds <= 0 || start === null) return false;
    return dts - start + this.lastFrameTicks > this.options.partSeconds * this.timescale + 1;
  }

  private openSegment(dts: number, ptsUs: number): void {
    const programDateMs = this.options.wallClockAtZeroMs + (dts * 1000) / this.timescale;
    this.current = {
      msn: this.nextMsn++,
      startDts: dts,
      endDts: dts,
      programDateMs,
      parts: [],
      chunks: [],
      keyframeAsked: false,
    };
    if (this.current.msn > 0) this.options.onSegmentStarted?.(ptsUs);
    this.dirty = true;
  }

  private closePart(nextDts: number | undefined): void {
    const current = this.current!;
    const out = this.fragmenter.flush(nextDts);
    if (!out) return;
    current.chunks.push(out.fragment);
    current.endDts = out.endDts;
    if (this.options.partSeconds <= 0) return;
    const uri = partUri(current.msn, current.parts.length);
    current.parts.push({
      uri,
      durationS: (out.endDts - out.startDts) / this.timescale,
      independent: out.sync,
    });
    this.enqueue(async () => {
      await writeFileAtomic(join(this.options.dir, uri), out.fragment);
      this.options.onFileWritten?.(out.fragment.length, false);
      this.options.onFile?.(uri, 'part');
    });
    this.dirty = true;
  }

  private closeSegment(): void {
    const current = this.current!;
    this.current = null;
    const data = Buffer.concat(current.chunks);
    const ticks = current.endDts - current.startDts;
    const durationS = ticks / this.timescale;
    const uri = segmentUri(current.msn);
    this.segments.push({
      msn: current.msn,
      uri,
      durationS,
      programDateMs: current.programDateMs,
      parts: current.parts,
      bytes: data.length,
    });
    this.totalBytes += data.length;
    this.totalTicks += ticks;
    if (durationS > 0) this.peakBps = Math.max(this.peakBps, (data.length * 8) / durationS);
    this.targetDurationS = Math.max(this.targetDurationS, Math.round(durationS));
    this.enqueue(async () => {
      await writeFileAtomic(join(this.options.dir, uri), data);
      this.options.onFileWritten?.(data.length, true);
      this.options.onFile?.(uri, 'segment');
    });
    this.dirty = true;
  }

  /** Writes the playlist (after the files queued before it), then retires segments past the window. */
  private publishIfDirty(): void {
    if (!this.dirty) return;
    this.dirty = false;
    while (this.segments.length > this.options.windowSegments) this.retired.push(this.segments.shift()!);
    const text = this.playlist();
    const position = {
      msn: this.current?.msn ?? this.nextMsn,
      parts: this.current?.parts.length ?? 0,
      ended: this.ended,
    };
    this.enqueue(async () => {
      await writeFileAtomic(join(this.options.dir, MEDIA_PLAYLIST_FILE), text);
      this.options.onFile?.(MEDIA_PLAYLIST_FILE, 'playlist');
      this.waiters.published(position);
    });
    this.deleteExpired();
  }

  /**
   * RFC 8216 6.2.2: a segment's file stays available for its duration plus the playlist's after it
   * left the playlist; keeping one window more than that covers it.
   */
  private deleteExpired(): void {
    while (this.retired.length > this.options.windowSegments + 1) {
      const old = this.retired.shift()!;
      const files = [old.uri, ...old.parts.map((p) => p.uri)];
      this.enqueue(async () => {
        await Promise.all(files.map((f) => rm(join(this.options.dir, f), { force: true })));
        for (const f of files) this.options.onDeleted?.(f);
      });
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.io = this.io
      .then(() => (this.failed ? undefined : task()))
      .catch((err: unknown) => {
        // The write failed (disk full, directory removed): stop this track and let the stream end.
        if (this.failed) return;
        this.failed = true;
        this.waiters.releaseAll();
        this.options.onError(err instanceof Error ? err : new Error(String(err)));
      });
  }
}
