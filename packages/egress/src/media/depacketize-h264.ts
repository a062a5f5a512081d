import { H264Nal } from '../../../../src/rtp/codecs/h264.ts';
import { parseSps } from '../mux/h264-config.ts';
import { BitstreamError } from './bit-reader.ts';
import { FrameAssembler } from './depacketizer.ts';

const NAL_TYPE_MASK = 0x1f;

/** The coded size an SPS NAL unit gives (the muxers' parser), or undefined when it is malformed. */
export function h264SpsSize(nal: Buffer): { width: number; height: number } | undefined {
  try {
    const { width, height } = parseSps(nal);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch (err) {
    // Why: parseSps reports a truncated or overlong field with a BitstreamError; anything else is a bug.
    if (err instanceof BitstreamError) return undefined;
    throw err;
  }
}
const NRI_AND_F_MASK = 0xe0;
const FU_START = 0x80;
const FU_END = 0x40;
const LENGTH_BYTES = 4;
/** NAL unit types 1-23 are single NAL unit packets (RFC 6184 §5.6). */
const MAX_SINGLE_NAL = 23;

/**
 * H.264 (RFC 6184, packetization modes 0 and 1): single NAL units, STAP-A and FU-A rebuilt into
 * one AVCC access unit per RTP timestamp (`parts` holds its NAL units without length prefixes). The last SPS and PPS are kept: a keyframe (IDR) that
 * arrives without them in-band gets them prepended, so every keyframe a muxer sees carries its
 * decoder configuration.
 */
export class H264Depacketizer extends FrameAssembler {
  #sps: Buffer | undefined;
  #pps: Buffer | undefined;
  /** The FU-A in progress: its fragments, or undefined between fragmented units. */
  #fu: Buffer[] | undefined;

  /** The last SPS and PPS seen (for a muxer's VideoConfig). */
  get sps(): Buffer | undefined {
    return this.#sps;
  }
  get pps(): Buffer | undefined {
    return this.#pps;
  }

  protected override readonly startsAtNewTimestamp = true;

  protected add(payload: Buffer): boolean {
    if (payload.length === 0) return false;
    const type = payload[0]! & NAL_TYPE_MASK;
    if (type >= 1 && type <= MAX_SINGLE_NAL) return this.#nal(payload);
    if (type === H264Nal.STAP_A) return this.#stapA(payload);
    if (type === H264Nal.FU_A) return this.#fuA(payload);
    return false;
  }

  protected override drop(): void {
    super.drop();
    this.#fu = undefined;
  }

  protected build(): Buffer | null {
    // Why: a FU-A still open at the end of the timestamp lost its end fragment.
    if (this.#fu !== undefined) return null;
    const nals = this.#withConfig(this.parts);
    const out = Buffer.alloc(nals.reduce((n, nal) => n + LENGTH_BYTES + nal.length, 0));
    let at = 0;
    for (const nal of nals) {
      out.writeUInt32BE(nal.length, at);
      out.set(nal, at + LENGTH_BYTES);
      at += LENGTH_BYTES + nal.length;
    }
    return out;
  }

  /** An IDR access unit gets the last SPS/PPS in front when it lacks them. */
  #withConfig(nals: Buffer[]): Buffer[] {
    if (!this.keyframe) return nals;
    const types = new Set(nals.map((n) => n[0]! & NAL_TYPE_MASK));
    const head: Buffer[] = [];
    if (!types.has(H264Nal.SPS) && this.#sps) head.push(this.#sps);
    if (!types.has(H264Nal.PPS) && this.#pps) head.push(this.#pps);
    return head.length > 0 ? [...head, ...nals] : nals;
  }

  #nal(nal: Buffer): boolean {
    const type = nal[0]! & NAL_TYPE_MASK;
    const copy = Buffer.from(nal);
    if (type === H264Nal.SPS) {
      const size = h264SpsSize(copy);
      if (!size) return false;
      this.#sps = copy;
      this.width = size.width;
      this.height = size.height;
    } else if (type === H264Nal.PPS) this.#pps = copy;
    else if (type === H264Nal.IDR) this.keyframe = true;
    this.parts.push(copy);
    return true;
  }

  #stapA(payload: Buffer): boolean {
    for (let i = 1; i < payload.length; ) {
      if (i + 2 > payload.length) return false;
      const size = payload.readUInt16BE(i);
      if (size === 0 || i + 2 + size > payload.length) return false;
      if (!this.#nal(payload.subarray(i + 2, i + 2 + size))) return false;
      i += 2 + size;
    }
    return true;
  }

  #fuA(payload: Buffer): boolean {
    if (payload.length < 3) return false;
    const header = payload[1]!;
    if (header & FU_START) {
      if (this.#fu !== undefined) return false;
      const nalHeader = (payload[0]! & NRI_AND_F_MASK) | (header & NAL_TYPE_MASK);
      this.#fu = [Buffer.from([nalHeader])];
    } else if (this.#fu === undefined) return false;
    this.#fu.push(payload.subarray(2));
    if ((header & FU_END) === 0) return true;
    const nal = Buffer.concat(this.#fu);
    this.#fu = undefined;
    return this.#nal(nal);
  }
}
