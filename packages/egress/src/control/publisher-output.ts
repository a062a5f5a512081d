import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SfuError } from '../../../../src/lib/errors.ts';
import type { Logger } from '../../../../src/lib/logger.ts';
import type { EgressKind } from '../../../../src/protocol/egress.ts';
import type { EgressSettings, RelayedTrack } from '../../../../src/sfu/egress-backend.ts';
import type { LivePlaylist } from '../hls/hls-http.ts';
import { HlsStream, type HlsTrackKind, MASTER_PLAYLIST_FILE } from '../hls/hls-stream.ts';
import type { StreamVariants } from '../hls/master-playlist.ts';
import type { MediaFrame, VideoCodecName } from '../media/frame.ts';
import type { MoqServer } from '../moq/index.ts';
import { openRecording } from '../recording/recording.ts';
import { HlsUploadMirror, type S3Uploader } from '../storage/index.ts';
import { AudioTranscoder } from '../transcode/audio-transcoder.ts';
import { VideoTranscoder } from '../transcode/video-transcoder.ts';
import type { EgressStatsCollector } from './egress-stats.ts';

/**
 * The output of one publisher's frames, by egress kind: an HLS stream (H264 copied, other video
 * transcoded to H264; Opus kept and transcoded to AAC beside it), a recording file (MP4 for
 * H264, WebM otherwise, never transcoded) or a MoQ broadcast (copied).
 */

export interface OutputContext {
  /** The publisher's directory, absolute. */
  dir: string;
  /** The same, relative to the egress HTTP root (`<egressId>/…`): what EgressInfo names. */
  relativeDir: string;
  tracks: RelayedTrack[];
  settings: EgressSettings;
  moq: MoqServer;
  /** MoQ broadcast path (`<roomId>/<participantId>`). */
  moqPath: string;
  logger: Logger;
  requestKeyframe(): void;
  /** The output cannot go on (ffmpeg died, disk full): the egress ends with this reason. */
  onFailed(reason: string): void;
  /** The process's egress counters (HLS files written are counted here). */
  stats?: EgressStatsCollector;
  /** The bucket (STORAGE_*) live HLS is mirrored to as it is written; absent: local files only. */
  uploader?: S3Uploader;
  /** HLS in a room's master playlist: the stream's own master was written, and reached the bucket. */
  roomMaster?: { written(variants: StreamVariants): void; uploaded(): void };
}

export interface PublisherOutput {
  write(frame: MediaFrame): void;
  /**
   * The output has begun (a recording: its first keyframe opened the file; HLS with video: the
   * first video keyframe went in, or into its transcoder); the egress is active from then.
   * Absent: from the first frame written.
   */
  started?(): boolean;
  end(reason: string): Promise<void>;
  outputs(): { playlist: string | null; files: string[]; moqPath: string | null };
  addTracks?(tracks: RelayedTrack[]): void;
  /** HLS: the live playlist at a path relative to the publisher's directory. */
  livePlaylist?(relativePath: string): LivePlaylist | undefined;
  /** CPU seconds spent by its transcoders (ffmpeg children). */
  transcodeCpuSeconds(): number;
  /** Bytes written to its file so far (recordings; HLS counts its files in `stats` as they land). */
  bytesWritten?(): number;
}

export function videoCodecOf(tracks: RelayedTrack[]): VideoCodecName | undefined {
  const mime = tracks.find((t) => t.kind === 'video')?.codec.mimeType.toLowerCase();
  const name = mime?.split('/')[1];
  return name === 'h264' || name === 'vp8' || name === 'vp9' || name === 'av1' ? name : undefined;
}

function audioOf(tracks: RelayedTrack[]): { codec: 'opus'; channels: number } | undefined {
  const audio = tracks.find((t) => t.kind === 'audio' && t.codec.mimeType.toLowerCase() === 'audio/opus');
  return audio ? { codec: 'opus', channels: audio.codec.channels ?? 2 } : undefined;
}

export async function openOutput(kind: EgressKind, ctx: OutputContext): Promise<PublisherOutput> {
  if (kind === 'hls') return hlsOutput(ctx);
  if (kind === 'recording') return recordingOutput(ctx);
  return moqOutput(ctx);
}

function hlsOutput(ctx: OutputContext): PublisherOutput {
  const video = videoCodecOf(ctx.tracks);
  const audio = audioOf(ctx.tracks);
  if (!video && !audio)
    throw new SfuError('invalid_state', 'the participant publishes no track egress can take');
  const mirror = ctx.uploader ? bucketMirror(ctx, ctx.uploader) : undefined;
  const kinds: HlsTrackKind[] = [
    ...(video ? ['video' as const] : []),
    ...(audio ? ['opus' as const, 'aac' as const] : []),
  ];
  const stream = new HlsStream({
    dir: ctx.dir,
    segmentSeconds: ctx.settings.segmentSeconds,
    partSeconds: ctx.settings.partSeconds,
    windowSegments: ctx.settings.windowSegments,
    tracks: kinds,
    logger: ctx.logger,
    onKeyframeNeeded: () => ctx.requestKeyframe(),
    onError: (err) => ctx.onFailed(`writing HLS failed: ${err.message}`),
    ...(ctx.stats && { onFileWritten: ctx.stats.fileWritten.bind(ctx.stats) }),
    ...(mirror && { fileListener: mirror.listener }),
    ...(ctx.roomMaster && { onMasterWritten: (variants) => ctx.roomMaster?.written(variants) }),
  });
  const log = ctx.logger;
  // H264 is copied; VP8, VP9 and AV1 go through ffmpeg to H264 (HLS players take H264 in fMP4).
  const videoTranscoder =
    video && video !== 'h264'
      ? new VideoTranscoder({
          logger: log,
          onFrame: (f) => stream.write(f),
          onConfig: () => undefined,
          onFailed: (reason) => ctx.onFailed(`video transcoding failed: ${reason}`),
          onKeyframeNeeded: () => ctx.requestKeyframe(),
          gopSeconds: ctx.settings.segmentSeconds,
        })
      : undefined;
  // Opus stays as it is (players that take it) and an AAC rendition is made beside it.
  const aac = audio
    ? new AudioTranscoder({
        logger: log,
        onFrame: (f) => stream.write(f),
        onConfig: () => undefined,
        onFailed: (reason) => ctx.onFailed(`audio transcoding failed: ${reason}`),
      })
    : undefined;
  // Segments start at video keyframes: until one came, a stream with video has no playlist yet.
  let videoBegan = false;
  return {
    write(frame) {
      if (frame.kind === 'video') {
        (videoTranscoder ?? stream).write(frame);
        if (frame.keyframe) videoBegan = true;
      } else {
        stream.write(frame);
        aac?.write(frame);
      }
    },
    async end(reason) {
      await Promise.all([videoTranscoder?.end(reason), aac?.end(reason)]);
      await stream.end(reason);
      await mirror?.end();
    },
    started: () => videoBegan || !video,
    outputs: () => ({
      playlist: `${ctx.relativeDir}/${MASTER_PLAYLIST_FILE}`,
      files: mirror ? [mirror.listener.urlOf(MASTER_PLAYLIST_FILE)] : [],
      moqPath: null,
    }),
    livePlaylist: (path) => stream.livePlaylist(path),
    transcodeCpuSeconds: () => (videoTranscoder?.cpuSeconds() ?? 0) + (aac?.cpuSeconds() ?? 0),
  };
}

/**
 * The stream's files mirrored into the bucket under `hls/<egressId>/<participantId>/`. Its first
 * permanent failure (the bucket unreachable after the retries) ends the egress; `end()` waits
 * until the last playlists (ENDLIST) are up, unless the bucket already failed: then what is still
 * queued fails through its retries in the background and the egress ends at once.
 */
function bucketMirror(ctx: OutputContext, uploader: S3Uploader) {
  let failed = false;
  const listener = new HlsUploadMirror({
    uploader,
    logger: ctx.logger,
    localDir: ctx.dir,
    keyPrefix: `hls/${ctx.relativeDir}/`,
    windowSegments: ctx.settings.windowSegments,
    onPlaylistUploaded: (path) => {
      if (path === MASTER_PLAYLIST_FILE) ctx.roomMaster?.uploaded();
    },
    onFailed: (reason) => {
      if (failed) return;
      failed = true;
      ctx.onFailed(`upload failed: ${reason}`);
    },
  });
  const end = async () => {
    const closed = listener.close();
    if (!failed) return closed;
    closed.catch((err: unknown) =>
      // Fire and forget: the bucket failed already and the egress ends with that reason.
      ctx.logger.debug({ err }, 'hls upload mirror closed after a failure'),
    );
  };
  return { listener, end };
}

async function recordingOutput(ctx: OutputContext): Promise<PublisherOutput> {
  const video = videoCodecOf(ctx.tracks);
  const audio = audioOf(ctx.tracks);
  await mkdir(ctx.dir, { recursive: true });
  const { sink, file, bytesWritten } = await openRecording(
    join(ctx.dir, 'recording'),
    { ...(video && { video }), ...(audio && { audio }) },
    (err) => ctx.onFailed(`writing the recording failed: ${err.message}`),
  );
  const name = file.slice(ctx.dir.length + 1);
  return {
    write: (frame) => sink.write(frame),
    started: () => sink.started,
    end: (reason) => sink.end(reason),
    outputs: () => ({ playlist: null, files: [`${ctx.relativeDir}/${name}`], moqPath: null }),
    transcodeCpuSeconds: () => 0,
    bytesWritten,
  };
}

function moqOutput(ctx: OutputContext): PublisherOutput {
  const broadcast = ctx.moq.createBroadcast(ctx.moqPath, { onKeyframeNeeded: () => ctx.requestKeyframe() });
  return {
    write: (frame) => broadcast.write(frame),
    end: (reason) => broadcast.end(reason),
    outputs: () => ({ playlist: null, files: [], moqPath: ctx.moqPath }),
    transcodeCpuSeconds: () => 0,
  };
}
