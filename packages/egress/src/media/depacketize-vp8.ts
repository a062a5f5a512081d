import { newVp8Descriptor, parseVp8 } from '../../../../src/rtp/codecs/vp8.ts';
import { FrameAssembler } from './depacketizer.ts';

/** Bytes of a VP8 keyframe's header (RFC 6386 §9.1): 3-byte frame tag, start code, sizes. */
const KEY_HEADER_BYTES = 10;
const SIZE_MASK = 0x3fff;

/**
 * VP8 (RFC 7741): the payload descriptor is parsed by the core's parser; a frame starts at the
 * first packet of partition 0 (S = 1, PID = 0) and its payloads are concatenated.
 */
export class Vp8Depacketizer extends FrameAssembler {
  readonly #descriptor = newVp8Descriptor();

  protected add(payload: Buffer): boolean {
    const d = this.#descriptor;
    if (!parseVp8(payload, d)) return false;
    if (d.startOfPartition && d.partitionIndex === 0) {
      this.begin();
      if (d.isKeyframe && !this.#readKeyframeSize(payload, d.descriptorBytes)) return false;
    }
    // Why: after a loss the frame's first packet is gone; its other packets cannot make a frame.
    if (!this.intact) return true;
    this.parts.push(payload.subarray(d.descriptorBytes));
    return true;
  }

  protected build(): Buffer {
    return Buffer.concat(this.parts);
  }

  #readKeyframeSize(payload: Buffer, at: number): boolean {
    if (payload.length < at + KEY_HEADER_BYTES) return false;
    if (payload[at + 3] !== 0x9d || payload[at + 4] !== 0x01 || payload[at + 5] !== 0x2a) return false;
    this.keyframe = true;
    this.width = payload.readUInt16LE(at + 6) & SIZE_MASK;
    this.height = payload.readUInt16LE(at + 8) & SIZE_MASK;
    return true;
  }
}
