import { newVp9Descriptor, parseVp9, type Vp9Descriptor } from '../../../../src/rtp/codecs/vp9.ts';
import type { CodedFrame, Depacketizer, RtpPayload } from './depacketizer.ts';
import { type FrameSize, parseVp9FrameSize, parseVp9KeyframeSize, vp9Superframe } from './vp9-bitstream.ts';

export { parseVp9KeyframeSize } from './vp9-bitstream.ts';

export interface Vp9DepacketizerOptions {
  /**
   * Highest spatial layer kept of an SVC stream (0: the base); higher layers' packets are dropped.
   * Default: every layer the publisher sends.
   */
  maxSpatialLayer?: number;
}

/**
 * The bytes from the start of a descriptor to its scalability structure (RFC 9628 §4.2): the
 * flags, picture id, layer indices and, in flexible mode, the P_DIFF references.
 */
function ssOffset(d: Vp9Descriptor): number {
  const pictureId = d.pictureIdBits === 15 ? 2 : d.pictureIdBits === 7 ? 1 : 0;
  const layers = d.hasLayerIndices ? (d.flexibleMode ? 1 : 2) : 0;
  return 1 + pictureId + layers + (d.flexibleMode && d.interPicture ? d.referenceCount : 0);
}

/** The spatial layers' sizes of a scalability structure with Y set (RFC 9628 §4.2.1), else []. */
export function vp9ScalabilitySizes(payload: Uint8Array, d: Vp9Descriptor): FrameSize[] {
  if (!d.hasScalabilityStructure) return [];
  const at = ssOffset(d);
  const b = payload[at] ?? 0;
  if ((b & 0x10) === 0 || at + 1 + 4 * d.ssSpatialLayers > payload.length) return [];
  const sizes: FrameSize[] = [];
  for (let i = 0; i < d.ssSpatialLayers; i++) {
    const o = at + 1 + 4 * i;
    sizes.push({
      width: (payload[o]! << 8) | payload[o + 1]!,
      height: (payload[o + 2]! << 8) | payload[o + 3]!,
    });
  }
  return sizes;
}

/** The picture in progress: its complete layer frames and the one being received. */
interface Picture {
  /** Complete layer frames, by increasing spatial id. */
  frames: Buffer[];
  sids: number[];
  /** Parts of the layer frame being received, and its spatial id (-1: none). */
  parts: Buffer[];
  sid: number;
  keyframe: boolean;
  /** Layer sizes from the scalability structure, when this picture has one. */
  ssSizes: FrameSize[];
}

/**
 * VP9 (RFC 9628), flexible and non-flexible modes, with spatial layers (SVC: every layer in one
 * RTP stream). The layer frames of one picture (one RTP timestamp) from the base up to the
 * highest layer kept become one superframe (VP9 Annex B): a decoder given it decodes each layer
 * and shows the top one, a picture at the full resolution. A layer frame runs from the packet with
 * B to the one with E; the picture ends with the marker bit, a new timestamp, or the E of the
 * highest layer the scalability structure announces.
 *
 * A picture whose upper layers never came (the encoder dropped them, or stopped sending a layer)
 * is emitted up to the highest layer it has: every frame the encoder made below the limit reaches
 * the decoder in order, so each reference it uses was decoded, and the picture shows at that
 * layer's size. A lost packet (lost()) drops the whole picture: which layer it belonged to is
 * unknown, so a later layer frame may miss its reference; the track reader then waits for a
 * keyframe, where KEY-mode SVC (inter-layer prediction on keyframes only) restarts every layer.
 */
export class Vp9Depacketizer implements Depacketizer {
  errors = 0;
  readonly #max: number;
  readonly #d = newVp9Descriptor();
  #timestamp = -1;
  /** null: no picture started at this timestamp; 'broken': a loss or error, skip to the next one. */
  #picture: Picture | null | 'broken' = null;
  /** Spatial layers of the last scalability structure (1 until one says otherwise). */
  #announcedLayers = 1;

  constructor(options: Vp9DepacketizerOptions = {}) {
    this.#max = options.maxSpatialLayer ?? Number.POSITIVE_INFINITY;
  }

  push(packet: RtpPayload): CodedFrame[] {
    const out: CodedFrame[] = [];
    if (this.#timestamp !== -1 && packet.timestamp !== this.#timestamp) this.#finish(out);
    this.#timestamp = packet.timestamp;
    const d = this.#d;
    if (!parseVp9(packet.payload, d)) {
      this.errors++;
      this.#picture = 'broken';
      return out;
    }
    if (d.sid <= this.#max && !this.#add(packet.payload, d)) {
      this.errors++;
      this.#picture = 'broken';
      return out;
    }
    if (packet.marker || this.#lastLayerEnded(d)) this.#finish(out);
    return out;
  }

  lost(): void {
    // Why: between pictures the packet lost may be the next one's first; its B is then missing,
    // and a picture starting at a later layer's B is no keyframe, which the track reader drops.
    this.#picture = this.#timestamp === -1 ? null : 'broken';
  }

  /** Adds a packet of a kept layer; false when it contradicts the picture (malformed). */
  #add(payload: Buffer, d: Vp9Descriptor): boolean {
    if (d.startOfFrame && !this.#startLayer(payload, d)) return false;
    const p = this.#picture;
    // Why: after a loss, or a layer frame whose first packet is gone, its other packets make nothing.
    if (p === null || p === 'broken' || p.sid !== d.sid) return true;
    p.parts.push(payload.subarray(d.descriptorBytes));
    if (d.endOfFrame) this.#endLayer(p);
    return true;
  }

  #startLayer(payload: Buffer, d: Vp9Descriptor): boolean {
    if (this.#picture === 'broken') return true;
    if (this.#picture === null) this.#picture = newPicture(d, payload);
    const p = this.#picture;
    // Why: spatial ids rise within a picture, each layer frame ending (E) before the next starts.
    if (p.sid !== -1 || (p.sids.length > 0 && d.sid <= p.sids[p.sids.length - 1]!)) return false;
    p.sid = d.sid;
    p.parts = [];
    if (d.hasScalabilityStructure) this.#announcedLayers = d.ssSpatialLayers;
    return true;
  }

  #endLayer(p: Picture): void {
    const frame = Buffer.concat(p.parts);
    // Why: a descriptor without payload bytes is no frame; a decoder would reject an empty one.
    if (frame.length > 0) {
      p.frames.push(frame);
      p.sids.push(p.sid);
    }
    p.parts = [];
    p.sid = -1;
  }

  /** E of the last layer kept that the stream announces: no need to wait for the marker. */
  #lastLayerEnded(d: Vp9Descriptor): boolean {
    const last = d.hasLayerIndices ? Math.min(this.#max, this.#announcedLayers - 1) : 0;
    const p = this.#picture;
    return d.endOfFrame && d.sid === last && p !== null && p !== 'broken' && p.sid === -1;
  }

  #finish(out: CodedFrame[]): void {
    const p = this.#picture;
    this.#picture = null;
    const timestamp = this.#timestamp;
    this.#timestamp = -1;
    if (p === null || p === 'broken') return;
    // Why: a layer frame without E at the picture's end is whole (no loss was signalled), as
    // single-layer VP9 frames from packetizers that end frames with the marker bit only.
    if (p.sid !== -1 && p.parts.length > 0) this.#endLayer(p);
    if (p.frames.length === 0) return;
    const data = vp9Superframe(p.frames);
    const size = p.keyframe ? pictureSize(p) : undefined;
    const keyframe = size !== undefined;
    out.push({ rtpTimestamp: timestamp, data, keyframe, width: size?.width ?? 0, height: size?.height ?? 0 });
  }
}

function newPicture(d: Vp9Descriptor, payload: Buffer): Picture {
  // Why: some packetizers (ffmpeg's) never set P; the base layer's header says what the frame is.
  const keyframe = d.sid === 0 && d.isKeyframe;
  return { frames: [], sids: [], parts: [], sid: -1, keyframe, ssSizes: vp9ScalabilitySizes(payload, d) };
}

/**
 * A keyframe picture's size: the top layer frame's own header, else the scalability structure's
 * size for that layer; undefined when the base frame is no keyframe after all.
 */
function pictureSize(p: Picture): FrameSize | undefined {
  if (p.sids[0] !== 0 || !parseVp9KeyframeSize(p.frames[0]!)) return undefined;
  const top = p.frames.length - 1;
  return parseVp9FrameSize(p.frames[top]!) ?? p.ssSizes[p.sids[top]!] ?? parseVp9KeyframeSize(p.frames[0]!);
}
