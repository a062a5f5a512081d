import { newVp8Descriptor, parseVp8, rewriteVp8, type Vp8Descriptor } from '../../rtp/codecs/vp8.ts';

const PICTURE_ID_MASK = 0x7fff;
const TL0_PIC_IDX_MASK = 0xff;
const KEY_IDX_MASK = 0x1f;

/**
 * Offset of the T|Y|KEYIDX byte of a VP8 payload descriptor parsed from buf at `payloadOffset`
 * (RFC 7741 §4.2: it follows the X byte, the picture id and TL0PICIDX), or -1 when absent.
 */
export function vp8TkByteOffset(buf: Uint8Array, payloadOffset: number, d: Vp8Descriptor): number {
  if ((buf[payloadOffset]! & 0x80) === 0) return -1;
  const x = buf[payloadOffset + 1]!;
  if ((x & 0x30) === 0) return -1;
  let at = payloadOffset + 2;
  if (d.pictureIdOffset >= 0) at += d.pictureIdBits === 15 ? 2 : 1;
  if (d.tl0PicIdxOffset >= 0) at += 1;
  return at < buf.length ? at : -1;
}

/** Writes KEYIDX in place (keeping T and Y); false when the packet carries none. */
export function rewriteVp8KeyIdx(buf: Uint8Array, payloadOffset: number, d: Vp8Descriptor, keyIdx: number) {
  if (d.keyIdx < 0) return false;
  const at = vp8TkByteOffset(buf, payloadOffset, d);
  if (at < 0) return false;
  buf[at] = (buf[at]! & 0xe0) | (keyIdx & KEY_IDX_MASK);
  d.keyIdx = keyIdx & KEY_IDX_MASK;
  return true;
}

/**
 * Rewrites the VP8 payload descriptor of one DownTrack's packets (RFC 7741 §4.2) so that the
 * subscriber sees one continuous stream of picture ids, TL0PICIDX and KEYIDX across simulcast
 * switches and temporal-layer drops. Without it a switch makes Chrome's VP8 reference finder wait
 * for pictures that will never come (a ~3 s freeze until its next keyframe request).
 *
 * - The first packet of a new source continues at last + 1 for each field (it is a keyframe, so
 *   TL0PICIDX and KEYIDX really do advance there).
 * - A picture dropped by the SFU (temporal layer above target) is removed from the picture-id
 *   space, as RtpMunger removes dropped packets from the sequence space.
 * - Values keep each packet's own field width: a 7-bit picture id is written modulo 128.
 *
 * Works in place on the (copied) payload. Lifecycle: one per VP8 DownTrack, dropped with it.
 */
export class Vp8Munger {
  readonly #d = newVp8Descriptor();
  #started = false;
  /** Highest source picture id seen (raw) and its position on an unwrapped counter. */
  #highestIn = 0;
  #highestInExt = 0;
  /** Added (mod 2^15) to the unwrapped source picture id. */
  #pictureIdOffset = 0;
  #lastOutPictureId = -1;
  #tl0Offset = 0;
  #lastOutTl0 = -1;
  #keyIdxOffset = 0;
  #lastOutKeyIdx = -1;

  /**
   * Rewrites a packet about to be forwarded, whose VP8 payload is buf[payloadOffset..end).
   * `switched`: the first packet of a new source (SimulcastSelector's `switched`).
   * False when the payload is not a parsable VP8 descriptor; then nothing was written.
   */
  munge(buf: Uint8Array, payloadOffset: number, end: number, options: { switched: boolean }): boolean {
    const d = this.#d;
    if (!parseVp8(buf, d, payloadOffset, end)) return false;
    if (options.switched || !this.#started) this.#rebase(d);
    this.#started = true;
    const pictureId = d.pictureId >= 0 ? this.#mapPictureId(d) : -1;
    const tl0 = d.tl0PicIdx >= 0 ? (d.tl0PicIdx + this.#tl0Offset) & TL0_PIC_IDX_MASK : -1;
    if (!rewriteVp8(buf, d, pictureId, tl0)) return false;
    if (d.keyIdx >= 0) {
      const keyIdx = (d.keyIdx + this.#keyIdxOffset) & KEY_IDX_MASK;
      rewriteVp8KeyIdx(buf, payloadOffset, d, keyIdx);
      this.#lastOutKeyIdx = keyIdx;
    }
    if (tl0 >= 0) this.#lastOutTl0 = tl0;
    return true;
  }

  /** A packet of the current source not forwarded: its picture leaves no gap in the ids sent. */
  drop(buf: Uint8Array, payloadOffset: number, end: number): void {
    const d = this.#d;
    if (!this.#started || !parseVp8(buf, d, payloadOffset, end) || d.pictureId < 0) return;
    const delta = this.#inDelta(d);
    if (delta <= 0) return;
    // A new picture that will not be sent: later pictures move down by one.
    this.#advanceIn(d.pictureId, delta);
    this.#pictureIdOffset = (this.#pictureIdOffset - 1) & PICTURE_ID_MASK;
  }

  /** Maps the picture id of a forwarded packet, advancing the highest one seen. */
  #mapPictureId(d: Vp8Descriptor): number {
    const delta = this.#inDelta(d);
    const ext = this.#highestInExt + delta;
    if (delta > 0) this.#advanceIn(d.pictureId, delta);
    const out = (ext + this.#pictureIdOffset) & PICTURE_ID_MASK;
    if (delta >= 0) this.#lastOutPictureId = out;
    return out;
  }

  /** Continues each field at last sent + 1 from this (keyframe) packet on. */
  #rebase(d: Vp8Descriptor): void {
    this.#highestIn = Math.max(d.pictureId, 0);
    this.#highestInExt = this.#highestIn;
    const first = !this.#started;
    this.#pictureIdOffset = first ? 0 : (this.#lastOutPictureId + 1 - this.#highestIn) & PICTURE_ID_MASK;
    if (d.tl0PicIdx >= 0 && this.#lastOutTl0 >= 0)
      this.#tl0Offset = (this.#lastOutTl0 + 1 - d.tl0PicIdx) & TL0_PIC_IDX_MASK;
    if (d.keyIdx >= 0 && this.#lastOutKeyIdx >= 0)
      this.#keyIdxOffset = (this.#lastOutKeyIdx + 1 - d.keyIdx) & KEY_IDX_MASK;
  }

  /** Signed distance from the highest source picture id, in the packet's own id width. */
  #inDelta(d: Vp8Descriptor): number {
    const modulus = d.pictureIdBits === 15 ? 0x8000 : 0x80;
    const diff = (d.pictureId - this.#highestIn) & (modulus - 1);
    return diff >= modulus / 2 ? diff - modulus : diff;
  }

  #advanceIn(pictureId: number, delta: number): void {
    this.#highestIn = pictureId;
    this.#highestInExt += delta;
  }
}
