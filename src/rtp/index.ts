// rtp: pure helpers over raw RTP/RTCP buffers (header lengths, demux, sequence arithmetic, codecs).
// May import lib/ only.

export { isH264Keyframe, isVp8Keyframe, isVp9Keyframe, keyframeDetector } from './codecs/keyframe.ts';
export * from './rtcp.ts';
export { headerExtension, isRtcp, isValidRtcp, RTP_MIN_HEADER_BYTES, rtpHeaderBytes } from './rtp-header.ts';
