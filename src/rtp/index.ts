// rtp: pure helpers over raw RTP/RTCP buffers (header lengths, demux, sequence arithmetic, codecs).
// May import lib/ only.
export { isRtcp, isValidRtcp, RTP_MIN_HEADER_BYTES, rtpHeaderBytes } from './rtp-header.ts';
