/**
 * H.264 RTP payloads (RFC 6184 §5.2–5.8): NAL unit type and keyframe detection on a region of a
 * Buffer: an IDR slice (5) or SPS (7), alone, inside a STAP-A, or starting a FU-A. Bounds-checked.
 */

export const H264Nal = { IDR: 5, SEI: 6, SPS: 7, PPS: 8, STAP_A: 24, FU_A: 28 } as const;

const NAL_TYPE_MASK = 0x1f;
const FU_START = 0x80;
const STAP_A_SIZE_BYTES = 2;

function isKeyNal(type: number): boolean {
  return type === H264Nal.IDR || type === H264Nal.SPS;
}

/** The payload's NAL unit type (for FU-A, the type of the fragmented unit), or -1 when empty/truncated. */
export function h264NalType(buf: Uint8Array, offset = 0, end = buf.length): number {
  if (offset < 0 || end > buf.length || offset >= end) return -1;
  const type = buf[offset]! & NAL_TYPE_MASK;
  if (type !== H264Nal.FU_A) return type;
  return offset + 1 < end ? buf[offset + 1]! & NAL_TYPE_MASK : -1;
}

/** True when a STAP-A (RFC 6184 §5.7.1) aggregates an IDR slice or an SPS; stops at a truncated unit. */
function stapAHasKeyNal(buf: Uint8Array, offset: number, end: number): boolean {
  for (let i = offset + 1; i + STAP_A_SIZE_BYTES < end; ) {
    const size = (buf[i]! << 8) | buf[i + 1]!;
    const nalAt = i + STAP_A_SIZE_BYTES;
    if (size === 0 || nalAt + size > end) return false;
    if (isKeyNal(buf[nalAt]! & NAL_TYPE_MASK)) return true;
    i = nalAt + size;
  }
  return false;
}

/** H.264 keyframe test on the payload at buf[offset..end). */
export function isH264Keyframe(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  if (offset < 0 || end > buf.length || offset >= end) return false;
  const type = buf[offset]! & NAL_TYPE_MASK;
  if (isKeyNal(type)) return true;
  if (type === H264Nal.STAP_A) return stapAHasKeyNal(buf, offset, end);
  if (type === H264Nal.FU_A && offset + 1 < end) {
    const fu = buf[offset + 1]!;
    return (fu & FU_START) !== 0 && isKeyNal(fu & NAL_TYPE_MASK);
  }
  return false;
}
