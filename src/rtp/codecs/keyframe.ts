/**
 * Keyframe detection on the RTP payload (after the header), per codec. Bounds-checked: a payload
 * too short to tell is not a keyframe.
 */

/** VP8 (RFC 7741 §4.2–4.3): start of partition 0 of a frame whose first byte has P = 0. */
export function isVp8Keyframe(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  // S (start of partition) and PID (partition index) = 0.
  if ((b0 & 0x10) === 0 || (b0 & 0x07) !== 0) return false;
  let i = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) return false;
    const x = payload[1]!;
    i = 2;
    if (x & 0x80) {
      if (payload.length <= i) return false;
      i += payload[i]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) i++;
    if (x & 0x30) i++;
  }
  return i < payload.length && (payload[i]! & 0x01) === 0;
}

/** H.264 (RFC 6184): an IDR slice (5) or SPS (7), alone, in a STAP-A, or starting a FU-A. */
export function isH264Keyframe(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    for (let i = 1; i + 2 < payload.length; ) {
      const size = payload.readUInt16BE(i);
      const nal = payload[i + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === 28 && payload.length >= 2) {
    const fu = payload[1]!;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === 5 || (fu & 0x1f) === 7);
  }
  return false;
}

/**
 * VP9 (RFC 9628 §4.2): the first packet of a frame (B) that is not inter-predicted (P = 0), in
 * spatial layer 0 when layer indices are present.
 */
export function isVp9Keyframe(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  const interPicture = (b0 & 0x40) !== 0;
  const hasLayers = (b0 & 0x20) !== 0;
  const begin = (b0 & 0x08) !== 0;
  if (interPicture || !begin) return false;
  if (!hasLayers) return true;
  let i = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) return false;
    i += payload[1]! & 0x80 ? 2 : 1;
  }
  if (payload.length <= i) return false;
  const spatialId = (payload[i]! >> 1) & 0x07;
  return spatialId === 0;
}

export type VideoCodecName = 'VP8' | 'VP9' | 'H264' | 'AV1';

export function keyframeDetector(codec: string): ((payload: Buffer) => boolean) | undefined {
  switch (codec.toUpperCase().replace(/^VIDEO\//, '')) {
    case 'VP8':
      return isVp8Keyframe;
    case 'VP9':
      return isVp9Keyframe;
    case 'H264':
      return isH264Keyframe;
    default:
      return undefined;
  }
}
