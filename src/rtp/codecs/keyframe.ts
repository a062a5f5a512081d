/**
 * Keyframe detection on the RTP payload, per codec (the parsers live in vp8.ts, vp9.ts, h264.ts,
 * av1.ts).
 * Bounds-checked: a payload too short to tell is not a keyframe.
 */
import { isAv1Keyframe } from './av1.ts';
import { isH264Keyframe } from './h264.ts';
import { isVp8Keyframe } from './vp8.ts';
import { isVp9Keyframe } from './vp9.ts';

export { isAv1Keyframe, isH264Keyframe, isVp8Keyframe, isVp9Keyframe };

export type VideoCodecName = 'VP8' | 'VP9' | 'H264' | 'AV1';

/** A keyframe test over buf[offset..end) for a codec name or mime type ('video/VP8'), or undefined. */
export type KeyframeDetector = (buf: Uint8Array, offset?: number, end?: number) => boolean;

export function keyframeDetector(codec: string): KeyframeDetector | undefined {
  switch (codec.toUpperCase().replace(/^VIDEO\//, '')) {
    case 'VP8':
      return isVp8Keyframe;
    case 'VP9':
      return isVp9Keyframe;
    case 'H264':
      return isH264Keyframe;
    case 'AV1':
      return isAv1Keyframe;
    default:
      return undefined;
  }
}
