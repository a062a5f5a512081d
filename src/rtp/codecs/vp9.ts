/**
 * VP9 RTP payload descriptor (RFC 9628 §4.2, formerly draft-ietf-payload-vp9) over a region of a
 * Buffer, parsed into a reusable object, and keyframe detection. Bounds-checked.
 */

export interface Vp9Descriptor {
  /** Bytes of the payload descriptor including any scalability structure. */
  descriptorBytes: number;
  /** I, P, L, F, B, E, V, Z flags of the first byte. */
  hasPictureId: boolean;
  interPicture: boolean;
  hasLayerIndices: boolean;
  flexibleMode: boolean;
  startOfFrame: boolean;
  endOfFrame: boolean;
  hasScalabilityStructure: boolean;
  notReferenceForUpperSpatial: boolean;
  /** Picture id, or -1 when absent. */
  pictureId: number;
  /** 7 or 15 (M bit), 0 when absent. */
  pictureIdBits: number;
  pictureIdOffset: number;
  /** Temporal layer id, or -1 without layer indices. */
  tid: number;
  /** U: switching up point. */
  switchingUp: boolean;
  /** Spatial layer id; 0 without layer indices. */
  sid: number;
  /** D: inter-layer dependency. */
  interLayerDependency: boolean;
  /** TL0PICIDX (non-flexible mode with layer indices), or -1. */
  tl0PicIdx: number;
  tl0PicIdxOffset: number;
  /** Number of P_DIFF reference indices (flexible mode, inter picture). */
  referenceCount: number;
  /** Spatial layers described by the scalability structure (N_S + 1), 0 without one. */
  ssSpatialLayers: number;
  /** Not inter-predicted (P = 0), first packet of the frame (B), spatial layer 0. */
  isKeyframe: boolean;
}

export function newVp9Descriptor(): Vp9Descriptor {
  return {
    descriptorBytes: 0,
    hasPictureId: false,
    interPicture: false,
    hasLayerIndices: false,
    flexibleMode: false,
    startOfFrame: false,
    endOfFrame: false,
    hasScalabilityStructure: false,
    notReferenceForUpperSpatial: false,
    pictureId: -1,
    pictureIdBits: 0,
    pictureIdOffset: -1,
    tid: -1,
    switchingUp: false,
    sid: 0,
    interLayerDependency: false,
    tl0PicIdx: -1,
    tl0PicIdxOffset: -1,
    referenceCount: 0,
    ssSpatialLayers: 0,
    isKeyframe: false,
  };
}

function readFlags(b0: number, d: Vp9Descriptor): void {
  d.hasPictureId = (b0 & 0x80) !== 0;
  d.interPicture = (b0 & 0x40) !== 0;
  d.hasLayerIndices = (b0 & 0x20) !== 0;
  d.flexibleMode = (b0 & 0x10) !== 0;
  d.startOfFrame = (b0 & 0x08) !== 0;
  d.endOfFrame = (b0 & 0x04) !== 0;
  d.hasScalabilityStructure = (b0 & 0x02) !== 0;
  d.notReferenceForUpperSpatial = (b0 & 0x01) !== 0;
  d.pictureId = -1;
  d.pictureIdBits = 0;
  d.pictureIdOffset = -1;
  d.tid = -1;
  d.switchingUp = false;
  d.sid = 0;
  d.interLayerDependency = false;
  d.tl0PicIdx = -1;
  d.tl0PicIdxOffset = -1;
  d.referenceCount = 0;
  d.ssSpatialLayers = 0;
}

function readPictureId(buf: Uint8Array, i: number, end: number, d: Vp9Descriptor): number {
  if (i >= end) return -1;
  d.pictureIdOffset = i;
  if (buf[i]! & 0x80) {
    if (i + 2 > end) return -1;
    d.pictureId = ((buf[i]! & 0x7f) << 8) | buf[i + 1]!;
    d.pictureIdBits = 15;
    return i + 2;
  }
  d.pictureId = buf[i]!;
  d.pictureIdBits = 7;
  return i + 1;
}

function readLayerIndices(buf: Uint8Array, i: number, end: number, d: Vp9Descriptor): number {
  if (i >= end) return -1;
  const b = buf[i++]!;
  d.tid = b >> 5;
  d.switchingUp = (b & 0x10) !== 0;
  d.sid = (b >> 1) & 0x07;
  d.interLayerDependency = (b & 0x01) !== 0;
  if (d.flexibleMode) return i;
  if (i >= end) return -1;
  d.tl0PicIdxOffset = i;
  d.tl0PicIdx = buf[i]!;
  return i + 1;
}

/** Up to three P_DIFF bytes, each with N = 1 when another follows (flexible mode, P = 1). */
function readReferences(buf: Uint8Array, i: number, end: number, d: Vp9Descriptor): number {
  for (;;) {
    if (i >= end || d.referenceCount === 3) return -1;
    d.referenceCount++;
    if ((buf[i++]! & 0x01) === 0) return i;
  }
}

/** Scalability structure (RFC 9628 §4.2.1): N_S|Y|G, sizes when Y, picture groups when G. */
function readScalability(buf: Uint8Array, i: number, end: number, d: Vp9Descriptor): number {
  if (i >= end) return -1;
  const b = buf[i++]!;
  d.ssSpatialLayers = (b >> 5) + 1;
  if (b & 0x10) i += 4 * d.ssSpatialLayers;
  if (b & 0x08) {
    if (i >= end) return -1;
    const groups = buf[i++]!;
    for (let g = 0; g < groups; g++) {
      if (i >= end) return -1;
      const references = (buf[i++]! >> 2) & 0x03;
      i += references;
    }
  }
  return i <= end ? i : -1;
}

/** Parses the descriptor of the payload at buf[offset..end) into `out`; false when truncated. */
export function parseVp9(buf: Uint8Array, out: Vp9Descriptor, offset = 0, end = buf.length): boolean {
  if (offset < 0 || end > buf.length || offset >= end) return false;
  readFlags(buf[offset]!, out);
  let i = offset + 1;
  if (out.hasPictureId) i = readPictureId(buf, i, end, out);
  if (i >= 0 && out.hasLayerIndices) i = readLayerIndices(buf, i, end, out);
  if (i >= 0 && out.flexibleMode && out.interPicture) i = readReferences(buf, i, end, out);
  if (i >= 0 && out.hasScalabilityStructure) i = readScalability(buf, i, end, out);
  if (i < 0) return false;
  out.descriptorBytes = i - offset;
  out.isKeyframe = !out.interPicture && out.startOfFrame && out.sid === 0;
  return true;
}

const SCRATCH = newVp9Descriptor();

/** VP9 keyframe test on the payload at buf[offset..end). */
export function isVp9Keyframe(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  return parseVp9(buf, SCRATCH, offset, end) && SCRATCH.isKeyframe;
}
