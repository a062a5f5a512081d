import { performance } from 'node:perf_hooks';
import {
  type ExtensionRange,
  findHeaderExtension,
  remapHeaderExtensionIds,
} from '../../rtp/rtp-extensions.ts';

const RANGE: ExtensionRange = { offset: 0, length: 0 };
/** No extension is forwarded (an extension id map of zeros). */
export const NO_EXTENSIONS = new Uint8Array(256);
/** abs-send-time is 6.18 fixed-point seconds in 24 bits: 2^18 / 1000 units per millisecond. */
const ABS_SEND_TIME_UNITS_PER_MS = 262.144;
/** Distinct extension id maps kept by sharedExtensionIds (a map past these is used as it is). */
const SHARED_MAPS = 256;
const sharedMaps = new Map<string, Uint8Array>();

/**
 * One instance per distinct extension id map: the DownTracks of a track's subscribers mostly map
 * its extensions alike (our offer numbers them), and each packet's fan-out then reads one map that
 * stays in cache instead of one per subscriber. The map must not be written to afterwards.
 */
export function sharedExtensionIds(extensionIds: Uint8Array): Uint8Array {
  let key = '';
  for (let id = 0; id < extensionIds.length; id++)
    if (extensionIds[id] !== 0) key += `${id}:${extensionIds[id]},`;
  const shared = sharedMaps.get(key);
  if (shared && shared.length === extensionIds.length) return shared;
  if (!shared && sharedMaps.size < SHARED_MAPS) sharedMaps.set(key, extensionIds);
  return extensionIds;
}

/**
 * Writes a DownTrack's packets: a received packet under the subscriber's SSRC and payload type
 * (or the RTX stream's, RFC 4588), with the header extensions the subscriber negotiated under its
 * ids and abs-send-time stamped with our send time. The RTX sequence numbers are counted here.
 *
 * Lifecycle: one per DownTrack; `setExtensions` when the DownTrack switches source.
 */
export class RtpRewriter {
  readonly #ssrc: number;
  readonly #payloadType: number;
  readonly #rtx: { ssrc: number; payloadType: number } | undefined;
  #extensionIds: Uint8Array;
  #absSendTimeId: number;
  /** Our extension ids the subscriber's answer kept (undefined: all we offered). */
  #accepted: ReadonlySet<number> | undefined;
  #rtxSequenceNumber = Math.floor(Math.random() * 0x10000);

  constructor(options: {
    ssrc: number;
    payloadType: number;
    rtx: { ssrc: number; payloadType: number } | undefined;
    /** Publisher extension id → subscriber extension id (0: dropped); NO_EXTENSIONS for none. */
    extensionIds: Uint8Array;
    /** The subscriber's id for abs-send-time, 0 when not sent. */
    absSendTimeId: number;
  }) {
    this.#ssrc = options.ssrc;
    this.#payloadType = options.payloadType;
    this.#rtx = options.rtx;
    this.#extensionIds = options.extensionIds;
    this.#absSendTimeId = options.absSendTimeId;
  }

  /** Another publisher's packets follow (DownTrack.switchSource): its extension ids map anew. */
  setExtensions(extensionIds: Uint8Array, absSendTimeId: number): void {
    this.#extensionIds = this.#kept(extensionIds);
    this.#absSendTimeId = this.#accepted && !this.#accepted.has(absSendTimeId) ? 0 : absSendTimeId;
  }

  /**
   * The subscriber's answer kept only `accepted` of the extensions we offered (RFC 8285 §6): the
   * others are left out of what is sent from now on (and out of any later source's map).
   */
  acceptExtensions(accepted: ReadonlySet<number>): void {
    this.#accepted = accepted;
    this.setExtensions(this.#extensionIds, this.#absSendTimeId);
  }

  #kept(extensionIds: Uint8Array): Uint8Array {
    const accepted = this.#accepted;
    if (!accepted || extensionIds === NO_EXTENSIONS) return extensionIds;
    if (extensionIds.every((id) => id === 0 || accepted.has(id))) return extensionIds;
    return sharedExtensionIds(extensionIds.map((id) => (accepted.has(id) ? id : 0)));
  }

  /**
   * Writes the packet with our header into `out` (from 0; it needs room for `source.length + 2`
   * bytes) and returns its length: SSRC, payload type, sequence number and timestamp, no CSRCs,
   * the extension block copied with ids mapped (left out when the source's is malformed), then the
   * payload — preceded by `osn` when it is a retransmission over RTX (`osn` ≥ 0).
   */
  rewrite(
    source: Buffer,
    headerBytes: number,
    seq: number,
    timestamp: number,
    osn: number,
    marker: boolean,
    out: Buffer,
  ): number {
    const rtx = osn >= 0 && this.#rtx !== undefined;
    const length = this.#build(
      source,
      headerBytes,
      rtx ? this.nextRtxSequenceNumber() : seq,
      timestamp,
      rtx,
      true,
      out,
    );
    out[1] = (marker ? 0x80 : 0) | (out[1]! & 0x7f);
    if (rtx) out.writeUInt16BE(osn, length - (source.length - headerBytes) - 2);
    return length;
  }

  #build(
    source: Buffer,
    headerBytes: number,
    seq: number,
    timestamp: number,
    rtx: boolean,
    withExtensions: boolean,
    out: Buffer,
  ): number {
    const extensionAt = 12 + (source[0]! & 0x0f) * 4;
    const copyExtensions =
      withExtensions && (source[0]! & 0x10) !== 0 && this.#extensionIds !== NO_EXTENSIONS;
    const extensionBytes = copyExtensions ? headerBytes - extensionAt : 0;
    const payloadAt = 12 + extensionBytes + (rtx ? 2 : 0);
    const length = payloadAt + source.length - headerBytes;
    if (out.length < length) throw new RangeError(`${length} bytes do not fit a buffer of ${out.length}`);
    out[0] = 0x80 | (source[0]! & 0x20) | (extensionBytes > 0 ? 0x10 : 0);
    out[1] = (source[1]! & 0x80) | (rtx ? this.#rtx!.payloadType : this.#payloadType);
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(timestamp, 4);
    out.writeUInt32BE(rtx ? this.#rtx!.ssrc : this.#ssrc, 8);
    if (extensionBytes > 0) {
      source.copy(out, 12, extensionAt, headerBytes);
      // A malformed block is never written to: the packet goes without extensions.
      if (!remapHeaderExtensionIds(out, this.#extensionIds))
        return this.#build(source, headerBytes, seq, timestamp, rtx, false, out);
      if (this.#absSendTimeId !== 0) this.#stampAbsSendTime(out);
    }
    source.copy(out, payloadAt, headerBytes);
    return length;
  }

  /** abs-send-time is our send time: the subscriber's receive-side estimate measures our path. */
  #stampAbsSendTime(out: Buffer): void {
    if (!findHeaderExtension(out, this.#absSendTimeId, RANGE) || RANGE.length !== 3) return;
    const units = Math.floor(performance.now() * ABS_SEND_TIME_UNITS_PER_MS) & 0xffffff;
    out.writeUIntBE(units, RANGE.offset, 3);
  }

  nextRtxSequenceNumber(): number {
    this.#rtxSequenceNumber = (this.#rtxSequenceNumber + 1) & 0xffff;
    return this.#rtxSequenceNumber;
  }
}
