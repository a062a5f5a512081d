// rtp: pure helpers over raw RTP/RTCP buffers (header fields and extensions, demux, sequence arithmetic, RTCP, codecs).
// May import lib/ only.

export * from './codecs/av1.ts';
export * from './codecs/h264.ts';
export { type KeyframeDetector, keyframeDetector, type VideoCodecName } from './codecs/keyframe.ts';
export * from './codecs/vp8.ts';
export * from './codecs/vp9.ts';
export * from './dependency-descriptor.ts';
export * from './rtcp.ts';
export * from './rtp-extensions.ts';
export * from './rtp-packet.ts';
export * from './seq.ts';
