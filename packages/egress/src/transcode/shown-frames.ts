import type { VideoCodecName } from '../media/frame.ts';
import { vp9FrameShown, vp9SuperframeFrames } from '../media/vp9-bitstream.ts';

/**
 * How many pictures the transcoder's decoder outputs for one input frame: 0 for a VP8 frame with
 * show_frame unset (an alt-ref); for VP9, libvpx's one picture per superframe, the last frame's
 * when it is shown (an SVC picture's layers decode in turn and the top one shows); AV1 temporal
 * units show one picture. The video transcoder maps output pictures to input timestamps by this.
 */
export function shownPictures(codec: VideoCodecName, data: Buffer): number {
  if (data.length === 0) return 0;
  if (codec === 'vp8') {
    // RFC 6386 §9.1: frame tag bit 4 is show_frame.
    return ((data[0] ?? 0) >> 4) & 1;
  }
  if (codec === 'vp9') return vp9FrameShown(vp9SuperframeFrames(data).at(-1)!) ? 1 : 0;
  return 1;
}
