import { newVp8Descriptor, parseVp8 } from '../../rtp/codecs/vp8.ts';
import { newVp9Descriptor, parseVp9 } from '../../rtp/codecs/vp9.ts';
import {
  DecodeTargetIndication,
  type DependencyStructure,
  newDependencyDescriptor,
  readDependencyDescriptor,
} from '../../rtp/dependency-descriptor.ts';
import { type ExtensionRange, findHeaderExtension } from '../../rtp/rtp-extensions.ts';
import type { MediaPacket } from './media-packet.ts';

/**
 * Reads what a video packet says of its layers (VP8/VP9 payload descriptors, or AV1's dependency
 * descriptor) into the UpTrack's MediaPacket: temporal id, layer sync, end of frame, and in SVC
 * mode the spatial id. Parsed into reused descriptors: nothing is allocated per packet.
 *
 * Lifecycle: one per video UpTrack.
 */
export class PacketDescriber {
  readonly #codecName: string;
  /** AV1: the publisher's id of the dependency descriptor extension, 0 when not negotiated. */
  readonly #ddId: number;
  readonly #svc: boolean;
  readonly #vp8 = newVp8Descriptor();
  readonly #vp9 = newVp9Descriptor();
  readonly #dd = newDependencyDescriptor();
  readonly #ddRange: ExtensionRange = { offset: 0, length: 0 };
  /** The latest dependency structure received (it comes with keyframes); AV1 with the DD only. */
  dependencyStructure: DependencyStructure | undefined;

  /** `codecName`: the mime type in lower case; `svc`: all spatial layers in one SSRC. */
  constructor(codecName: string, ddId: number, svc: boolean) {
    this.#codecName = codecName;
    this.#ddId = ddId;
    this.#svc = svc;
  }

  /** Temporal (and VP9 spatial) ids from the payload descriptor. */
  describe(packet: MediaPacket, buffer: Buffer, headerBytes: number): void {
    const end = buffer.length - ((buffer[0]! & 0x20) !== 0 ? buffer[buffer.length - 1]! : 0);
    if (this.#codecName === 'video/vp8') {
      if (parseVp8(buffer, this.#vp8, headerBytes, end)) {
        packet.temporal = this.#vp8.tid;
        packet.layerSync = this.#vp8.layerSync;
      }
    } else if (this.#codecName === 'video/vp9' && parseVp9(buffer, this.#vp9, headerBytes, end)) {
      const d = this.#vp9;
      packet.temporal = d.tid;
      packet.layerSync = d.switchingUp;
      packet.endOfFrame = d.endOfFrame;
      if (this.#svc) {
        packet.spatial = d.sid;
        packet.keyframe = d.isKeyframe;
      }
    } else if (this.#ddId !== 0) this.#describeAv1(packet, buffer);
  }

  /**
   * AV1 with the dependency descriptor: spatial (SVC mode) and temporal ids of the frame's
   * template, `endOfFrame` from the descriptor, `layerSync` when the frame is a switch point (DTI
   * Switch) of some decode target. A structure received is kept for the packets that follow. A
   * packet whose descriptor cannot be read keeps the defaults (spatial = layer, temporal -1).
   */
  #describeAv1(packet: MediaPacket, buffer: Buffer): void {
    const range = this.#ddRange;
    if (!findHeaderExtension(buffer, this.#ddId, range)) return;
    const dd = readDependencyDescriptor(
      buffer,
      range.offset,
      range.length,
      this.dependencyStructure,
      this.#dd,
    );
    if (!dd) return;
    if (dd.attachedStructure) this.dependencyStructure = dd.attachedStructure;
    if (dd.spatialId < 0) return;
    packet.temporal = dd.temporalId;
    packet.endOfFrame = dd.endOfFrame;
    let sync = false;
    for (let d = 0; d < dd.structure!.decodeTargetCount; d++)
      if (dd.frameDti[d] === DecodeTargetIndication.Switch) sync = true;
    packet.layerSync = sync;
    if (this.#svc) {
      packet.spatial = dd.spatialId;
      // An intra picture starts at spatial id 0 (the aggregation header's N bit).
      packet.keyframe = packet.keyframe && dd.spatialId === 0;
    }
  }
}
