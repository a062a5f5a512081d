/**
 * The unit every egress sink consumes: one complete coded frame (video access unit or audio
 * packet), rebuilt from RTP by the depacketizers, in decode order, on a timeline shared by all
 * tracks of one egress (A/V sync from the publisher's sender reports).
 */

export type VideoCodecName = 'h264' | 'vp8' | 'vp9' | 'av1';
export type AudioCodecName = 'opus' | 'aac';
export type CodecName = VideoCodecName | AudioCodecName;

export interface VideoFrame {
  kind: 'video';
  codec: VideoCodecName;
  /**
   * H264: the access unit's NAL units, each prefixed with its 4-byte big-endian length (AVCC, as
   * MP4 stores them; SPS/PPS included when the publisher sent them in-band). VP8/VP9/AV1: the frame
   * as the codec defines it (AV1: a temporal unit of OBUs with size fields).
   */
  data: Buffer;
  keyframe: boolean;
  /** Presentation time in microseconds on the egress timeline (0 = the egress's first frame). */
  ptsUs: number;
  /** Coded size, when known (from the SPS or the VP8/VP9 keyframe header; 0 otherwise). */
  width: number;
  height: number;
}

export interface AudioFrame {
  kind: 'audio';
  codec: AudioCodecName;
  /** One Opus packet (or one raw AAC frame, no ADTS header). */
  data: Buffer;
  ptsUs: number;
  /** Samples in this frame at `sampleRate` (Opus at 48 kHz: 960 for 20 ms). */
  samples: number;
  sampleRate: number;
  channels: number;
}

export type MediaFrame = VideoFrame | AudioFrame;

/** Out-of-band codec setup a muxer's init segment needs (known once the first keyframe arrived). */
export interface VideoConfig {
  codec: VideoCodecName;
  width: number;
  height: number;
  /** H264: the SPS and PPS NAL units (without start codes or length prefixes). */
  sps?: Buffer[];
  pps?: Buffer[];
}

export interface AudioConfig {
  codec: AudioCodecName;
  sampleRate: number;
  channels: number;
  /** AAC: the AudioSpecificConfig. */
  audioSpecificConfig?: Buffer;
}

/** Anything that takes frames: an HLS rendition, a recording file, a MoQ broadcast, a transcoder. */
export interface FrameSink {
  write(frame: MediaFrame): void;
  /** No more frames: finish the output (close files with their index). */
  end(reason: string): Promise<void>;
}
