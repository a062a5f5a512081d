/**
 * VP8 RTP payload descriptor (RFC 7741 §4.2) over a region of a Buffer, parsed into a reusable
 * object; picture id and TL0PICIDX rewritten in place (for layer switching). Bounds-checked.
 */

export interface Vp8Descriptor {
  /** Bytes of the payload descriptor; the VP8 payload starts after it. */
  descriptorBytes: number;
  /** N: the frame can be discarded without affecting others. */
  nonReference: boolean;
  /** S: this packet starts a VP8 partition. */
  startOfPartition: boolean;
  /** PID: partition index. */
  partitionIndex: number;
  /** Picture id, or -1 when absent (I = 0). */
  pictureId: number;
  /** 7 or 15 (M bit), 0 when absent. */
  pictureIdBits: number;
  /** Absolute offset of the picture id in the buffer, or -1. */
  pictureIdOffset: number;
  /** TL0PICIDX, or -1 when absent (L = 0). */
  tl0PicIdx: number;
  tl0PicIdxOffset: number;
  /** Temporal layer index, or -1 when absent (T = 0). */
  tid: number;
  /** Y: layer sync (only meaningful with T). */
  layerSync: boolean;
  /** KEYIDX, or -1 when absent (K = 0). */
  keyIdx: number;
  /** S = 1, PID = 0 and the VP8 frame header's P bit (inverse key frame flag) clear (RFC 7741 §4.3). */
  isKeyframe: boolean;
}

export function newVp8Descriptor(): Vp8Descriptor {
  return {
    descriptorBytes: 0,
    nonReference: false,
    startOfPartition: false,
    partitionIndex: 0,
    pictureId: -1,
    pictureIdBits: 0,
    pictureIdOffset: -1,
    tl0PicIdx: -1,
    tl0PicIdxOffset: -1,
    tid: -1,
    layerSync: false,
    keyIdx: -1,
    isKeyframe: false,
  };
}

function resetOptional(d: Vp8Descriptor): void {
  d.pictureId = -1;
  d.pictureIdBits = 0;
  d.pictureIdOffset = -1;
  d.tl0PicIdx = -1;
  d.tl0PicIdxOffset = -1;
  d.tid = -1;
  d.layerSync = false;
  d.keyIdx = -1;
}

/** Reads the X byte's optional fields from `i`; returns the offset after them, or -1 when truncated. */
function readExtensions(buf: Uint8Array, x: number, i: number, end: number, d: Vp8Descriptor): number {
  if (x & 0x80) {
    if (i >= end) return -1;
    d.pictureIdOffset = i;
    if (buf[i]! & 0x80) {
      if (i + 2 > end) return -1;
      d.pictureId = ((buf[i]! & 0x7f) << 8) | buf[i + 1]!;
      d.pictureIdBits = 15;
      i += 2;
    } else {
      d.pictureId = buf[i]!;
      d.pictureIdBits = 7;
      i += 1;
    }
  }
  if (x & 0x40) {
    if (i >= end) return -1;
    d.tl0PicIdxOffset = i;
    d.tl0PicIdx = buf[i++]!;
  }
  if (x & 0x30) {
    if (i >= end) return -1;
    const tk = buf[i++]!;
    if (x & 0x20) {
      d.tid = tk >> 6;
      d.layerSync = (tk & 0x20) !== 0;
    }
    if (x & 0x10) d.keyIdx = tk & 0x1f;
  }
  return i;
}

/** Parses the descriptor of the payload at buf[offset..end) into `out`; false when truncated. */
export function parseVp8(buf: Uint8Array, out: Vp8Descriptor, offset = 0, end = buf.length): boolean {
  if (offset < 0 || end > buf.length || offset >= end) return false;
  const b0 = buf[offset]!;
  out.nonReference = (b0 & 0x20) !== 0;
  out.startOfPartition = (b0 & 0x10) !== 0;
  out.partitionIndex = b0 & 0x07;
  resetOptional(out);
  let i = offset + 1;
  if (b0 & 0x80) {
    if (i >= end) return false;
    i = readExtensions(buf, buf[i]!, i + 1, end, out);
    if (i < 0) return false;
  }
  out.descriptorBytes = i - offset;
  out.isKeyframe = out.startOfPartition && out.partitionIndex === 0 && i < end && (buf[i]! & 0x01) === 0;
  return true;
}

const SCRATCH = newVp8Descriptor();

/** VP8 keyframe test on the payload at buf[offset..end). */
export function isVp8Keyframe(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  return parseVp8(buf, SCRATCH, offset, end) && SCRATCH.isKeyframe;
}

/**
 * Rewrites the picture id and TL0PICIDX of a descriptor `d` parsed from this same buffer, in place,
 * keeping each field's width (a 7-bit picture id takes the value modulo 128). Pass -1 to leave a
 * field alone. False, and nothing written, when a field to write is absent from the packet.
 */
export function rewriteVp8(buf: Uint8Array, d: Vp8Descriptor, pictureId: number, tl0PicIdx: number): boolean {
  const pictureIdBytes = d.pictureIdBits === 15 ? 2 : 1;
  if (pictureId >= 0 && (d.pictureIdOffset < 0 || d.pictureIdOffset + pictureIdBytes > buf.length))
    return false;
  if (tl0PicIdx >= 0 && (d.tl0PicIdxOffset < 0 || d.tl0PicIdxOffset >= buf.length)) return false;
  if (pictureId >= 0) {
    const at = d.pictureIdOffset;
    if (d.pictureIdBits === 15) {
      buf[at] = 0x80 | ((pictureId >> 8) & 0x7f);
      buf[at + 1] = pictureId & 0xff;
      d.pictureId = pictureId & 0x7fff;
    } else {
      buf[at] = pictureId & 0x7f;
      d.pictureId = pictureId & 0x7f;
    }
  }
  if (tl0PicIdx >= 0) {
    buf[d.tl0PicIdxOffset] = tl0PicIdx & 0xff;
    d.tl0PicIdx = tl0PicIdx & 0xff;
  }
  return true;
}
