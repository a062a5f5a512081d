import { Av1ObuType, newAv1AggregationHeader, parseAv1, readLeb128 } from '../../../../src/rtp/codecs/av1.ts';
import { obuType, parseAv1SequenceHeader, readSizedObu, withSizeField } from './av1-obu.ts';
import { FrameAssembler } from './depacketizer.ts';

/**
 * AV1 (AOMedia RTP payload format §4.4-4.5): OBU elements and fragments (Z/Y) of the packets of
 * one timestamp rebuilt into a temporal unit of OBUs with size fields, temporal delimiters left
 * out (MP4 and Matroska store temporal units without them). N marks a keyframe.
 */
export class Av1Depacketizer extends FrameAssembler {
  protected override readonly startsAtNewTimestamp = true;
  readonly #header = newAv1AggregationHeader();
  /** Fragments of an OBU that continues in the next packet. */
  #fragment: Buffer[] | undefined;

  protected add(payload: Buffer): boolean {
    const h = this.#header;
    if (!parseAv1(payload, h)) return false;
    if (this.parts.length === 0 && this.#fragment === undefined && h.newCodedVideoSequence)
      this.keyframe = true;
    // Why: a continuation needs the fragment it continues, and a fragment must be continued.
    if (h.continuesFragment !== (this.#fragment !== undefined)) return false;
    const elements = this.#elements(payload, h.obuElementCount);
    if (!elements) return false;
    for (let i = 0; i < elements.length; i++) {
      const element = elements[i]!;
      const fragment = i === 0 && this.#fragment ? [...this.#fragment, element] : [element];
      this.#fragment = undefined;
      if (i === elements.length - 1 && h.continuesInNextPacket) {
        this.#fragment = fragment;
        continue;
      }
      if (!this.#obu(Buffer.concat(fragment))) return false;
    }
    return true;
  }

  protected override drop(): void {
    super.drop();
    this.#fragment = undefined;
  }

  protected build(): Buffer | null {
    return this.#fragment === undefined ? Buffer.concat(this.parts) : null;
  }

  /** The OBU elements of a packet: W = 0, every one with its length; else all but the last. */
  #elements(payload: Buffer, count: number): Buffer[] | undefined {
    const out: Buffer[] = [];
    let i = 1;
    while (i < payload.length) {
      const last = count !== 0 && out.length === count - 1;
      if (last) {
        out.push(payload.subarray(i));
        break;
      }
      const length = readLeb128(payload, i, payload.length);
      if (!length || length.next + length.value > payload.length) return undefined;
      out.push(payload.subarray(length.next, length.next + length.value));
      i = length.next + length.value;
    }
    return out.length > 0 ? out : undefined;
  }

  #obu(obu: Buffer): boolean {
    if (obu.length === 0) return true;
    const sized = withSizeField(obu);
    if (!sized) return false;
    const type = obuType(sized);
    if (type === Av1ObuType.TemporalDelimiter) return true;
    if (type === Av1ObuType.SequenceHeader) {
      const info = parseAv1SequenceHeader(readSizedObu(sized, 0)!.payload);
      if (!info) return false;
      this.width = info.width;
      this.height = info.height;
    }
    this.parts.push(sized);
    return true;
  }
}
