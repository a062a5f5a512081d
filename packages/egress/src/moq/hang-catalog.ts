import type { AudioFrame, VideoFrame } from '../media/frame.ts';
import { videoCodecString, vp8KeyframeSize } from './codec-string.ts';

/**
 * The hang catalog (the `catalog.json` track of a broadcast, as @moq/hang's RootSchema reads
 * it): one rendition per media track, every frame in the legacy container (a microsecond
 * timestamp varint, then the codec bitstream).
 */
export interface HangCatalog {
  video?: { renditions: Record<string, HangVideoRendition>; display?: { width: number; height: number } };
  audio?: { renditions: Record<string, HangAudioRendition> };
}

export interface HangVideoRendition {
  codec: string;
  container: { kind: 'legacy' };
  codedWidth?: number;
  codedHeight?: number;
  optimizeForLatency: boolean;
}

export interface HangAudioRendition {
  codec: string;
  container: { kind: 'legacy' };
  sampleRate: number;
  numberOfChannels: number;
}

export const CATALOG_TRACK = 'catalog.json';
export const VIDEO_TRACK = 'video';
export const AUDIO_TRACK = 'audio';

/** The video rendition a keyframe describes (codec string, coded size). */
export function videoRendition(frame: VideoFrame): HangVideoRendition {
  const size = frame.width > 0 ? { width: frame.width, height: frame.height } : vp8Size(frame);
  return {
    codec: videoCodecString(frame),
    container: { kind: 'legacy' },
    ...(size ? { codedWidth: size.width, codedHeight: size.height } : {}),
    optimizeForLatency: true,
  };
}

function vp8Size(frame: VideoFrame): { width: number; height: number } | null {
  return frame.codec === 'vp8' ? vp8KeyframeSize(frame.data) : null;
}

/**
 * Opus goes to WebCodecs as is; null for AAC, which a legacy-container track cannot describe
 * (WebCodecs wants its AudioSpecificConfig or ADTS headers): the MoQ player gets Opus only.
 */
export function audioRendition(frame: AudioFrame): HangAudioRendition | null {
  if (frame.codec !== 'opus') return null;
  return {
    codec: 'opus',
    container: { kind: 'legacy' },
    sampleRate: frame.sampleRate,
    numberOfChannels: frame.channels,
  };
}

export function catalogOf(video: HangVideoRendition | null, audio: HangAudioRendition | null): HangCatalog {
  const catalog: HangCatalog = {};
  if (video) {
    catalog.video = { renditions: { [VIDEO_TRACK]: video } };
    if (video.codedWidth && video.codedHeight) {
      catalog.video.display = { width: video.codedWidth, height: video.codedHeight };
    }
  }
  if (audio) catalog.audio = { renditions: { [AUDIO_TRACK]: audio } };
  return catalog;
}
