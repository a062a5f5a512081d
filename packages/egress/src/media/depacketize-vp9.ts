import { newVp9Descriptor, parseVp9 } from '../../../../src/rtp/codecs/vp9.ts';
import { BitReader, BitstreamError } from './bit-reader.ts';
import { FrameAssembler } from './depacketizer.ts';

const SYNC_CODE = 0x498342;
const CS_RGB = 7;

/**
 * Frame size of a VP9 keyframe from its uncompressed header (VP9 bitstream §6.2: frame marker,
 * profile, frame type, sync code, color config, frame_size), or undefined when it is not one.
 */
export function parseVp9KeyframeSize(frame: Uint8Array): { width: number; height: number } | undefined {
  try {
    const r = new BitReader(frame);
    if (r.bits(2) !== 2) return undefined;
    const profile = r.bit() | (r.bit() << 1);
    if (profile === 3) r.skip(1);
    if (r.bit() === 1 || r.bit() !== 0) return undefined; // show_existing_frame, frame_type
    r.skip(2); // show_frame, error_resilient_mode
    if (r.bits(24) !== SYNC_CODE) return undefined;
    if (profile >= 2) r.skip(1);
    const colorSpace = r.bits(3);
    if (colorSpace !== CS_RGB) {
      r.skip(1);
      if (profile === 1 || profile === 3) r.skip(3);
    } else if (profile === 1 || profile === 3) r.skip(1);
    return { width: r.bits(16) + 1, height: r.bits(16) + 1 };
  } catch (err) {
    if (err instanceof BitstreamError) return undefined;
    throw err;
  }
}

/**
 * VP9 (RFC 9628), flexible and non-flexible modes, one spatial layer: packets of the base spatial
 * layer (sid 0) only, which an SVC keyframe (KEY mode) makes decodable alone; a frame runs from
 * the packet with B to the one with E.
 */
export class Vp9Depacketizer extends FrameAssembler {
  readonly #descriptor = newVp9Descriptor();

  protected add(payload: Buffer): boolean {
    const d = this.#descriptor;
    if (!parseVp9(payload, d)) return false;
    if (d.sid !== 0) return true;
    if (d.startOfFrame) {
      this.begin();
      // Why: some packetizers (ffmpeg's) never set P; the frame header says what the frame is.
      const size = d.isKeyframe ? parseVp9KeyframeSize(payload.subarray(d.descriptorBytes)) : undefined;
      if (size) {
        this.keyframe = true;
        this.width = size.width;
        this.height = size.height;
      }
    }
    // Why: after a loss the frame's first packet is gone; its other packets cannot make a frame.
    if (!this.intact) return true;
    this.parts.push(payload.subarray(d.descriptorBytes));
    if (d.endOfFrame) this.ended = true;
    return true;
  }

  protected build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
