/**
 * AV1 RTP payload (AOMedia "RTP Payload Format For AV1", §4.4): the one-byte aggregation header
 * over a region of a Buffer, parsed into a reusable object, and keyframe detection. Bounds-checked.
 *
 *   0 1 2 3 4 5 6 7
 *  +-+-+-+-+-+-+-+-+
 *  |Z|Y| W |N|-|-|-|
 *  +-+-+-+-+-+-+-+-+
 *
 * Z: the first OBU element continues an OBU fragment of the previous packet. Y: the last OBU
 * element continues in the next packet. W: number of OBU elements (0: each carries a LEB128
 * length; 1–3: all but the last do). N: first packet of a coded video sequence, which starts with
 * a key frame (and then Z must be 0).
 */

/** OBU types (AV1 bitstream §6.2.2) that matter here. */
export const Av1ObuType = {
  SequenceHeader: 1,
  TemporalDelimiter: 2,
  FrameHeader: 3,
  TileGroup: 4,
  Metadata: 5,
  Frame: 6,
} as const;

export interface Av1AggregationHeader {
  /** Z */
  continuesFragment: boolean;
  /** Y */
  continuesInNextPacket: boolean;
  /** W: 0 when every element carries its length. */
  obuElementCount: number;
  /** N */
  newCodedVideoSequence: boolean;
  /** Type of the first OBU starting in this packet (Z = 0), or -1 when none can be read. */
  firstObuType: number;
  /** N = 1 and Z = 0: the first packet of a coded video sequence, i.e. of a key frame. */
  isKeyframe: boolean;
}

export function newAv1AggregationHeader(): Av1AggregationHeader {
  return {
    continuesFragment: false,
    continuesInNextPacket: false,
    obuElementCount: 0,
    newCodedVideoSequence: false,
    firstObuType: -1,
    isKeyframe: false,
  };
}

/**
 * Reads an unsigned LEB128 value (at most 8 bytes, AV1 §4.10.5) at buf[i..end).
 * Returns the value and where it ends, or undefined when truncated or too long.
 */
export function readLeb128(
  buf: Uint8Array,
  i: number,
  end: number,
): { value: number; next: number } | undefined {
  let value = 0;
  for (let n = 0; n < 8; n++) {
    if (i + n >= end) return undefined;
    const byte = buf[i + n]!;
    value += (byte & 0x7f) * 2 ** (7 * n);
    if ((byte & 0x80) === 0) return { value, next: i + n + 1 };
  }
  return undefined;
}

/** Type of the OBU whose header is at buf[i], or -1 (out of range, forbidden bit set). */
function obuTypeAt(buf: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  const header = buf[i]!;
  if (header & 0x80) return -1;
  return (header >> 3) & 0x0f;
}

/** Parses the aggregation header of the payload at buf[offset..end) into `out`; false when empty. */
export function parseAv1(buf: Uint8Array, out: Av1AggregationHeader, offset = 0, end = buf.length): boolean {
  if (offset < 0 || end > buf.length || offset >= end) return false;
  const b = buf[offset]!;
  out.continuesFragment = (b & 0x80) !== 0;
  out.continuesInNextPacket = (b & 0x40) !== 0;
  out.obuElementCount = (b >> 4) & 0x03;
  out.newCodedVideoSequence = (b & 0x08) !== 0;
  out.firstObuType = -1;
  if (!out.continuesFragment) {
    let i = offset + 1;
    if (out.obuElementCount !== 1) {
      // The first element carries its length: it must be non-empty and fit in the packet.
      const length = readLeb128(buf, i, end);
      if (length && length.value > 0 && length.next + length.value <= end) i = length.next;
      else i = end;
    }
    out.firstObuType = obuTypeAt(buf, i, end);
  }
  out.isKeyframe = out.newCodedVideoSequence && !out.continuesFragment && out.firstObuType >= 0;
  return true;
}

const SCRATCH = newAv1AggregationHeader();

/** AV1 keyframe test on the payload at buf[offset..end): the first packet of a coded video sequence. */
export function isAv1Keyframe(buf: Uint8Array, offset = 0, end = buf.length): boolean {
  return parseAv1(buf, SCRATCH, offset, end) && SCRATCH.isKeyframe;
}
