// rtp/codecs: RTP payload parsers per video codec (VP8 and VP9 descriptors, H.264 NAL units, the AV1 aggregation header) and keyframe detection.

export * from './av1.ts';
export * from './h264.ts';
export { type KeyframeDetector, keyframeDetector, type VideoCodecName } from './keyframe.ts';
export * from './vp8.ts';
export * from './vp9.ts';
