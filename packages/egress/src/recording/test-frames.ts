import type { MediaFrame } from '../media/frame.ts';
import { OPUS_20MS, vp8Payload } from '../testing/rtp-build.ts';

/** Frames for the recording tests: a 20 ms stereo Opus packet, a 320x180 VP8 frame. */

export const opusFrame = (ptsUs: number): MediaFrame => ({
  kind: 'audio',
  codec: 'opus',
  data: OPUS_20MS,
  ptsUs,
  samples: 960,
  sampleRate: 48_000,
  channels: 2,
});

/** A VP8 frame; its size is only said on a keyframe, as the depacketizer does. */
export const vp8Frame = (ptsUs: number, keyframe: boolean): MediaFrame => ({
  kind: 'video',
  codec: 'vp8',
  data: vp8Payload(keyframe).subarray(1),
  keyframe,
  ptsUs,
  width: keyframe ? 320 : 0,
  height: keyframe ? 180 : 0,
});
