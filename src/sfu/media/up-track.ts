import type { Clock } from '../../lib/clock.ts';
import { type KeyframeDetector, keyframeDetector } from '../../rtp/codecs/keyframe.ts';
import { DEPENDENCY_DESCRIPTOR_URI, type DependencyStructure } from '../../rtp/dependency-descriptor.ts';
import { rtpHeaderBytes, rtpPaddingBytes } from '../../rtp/rtp-packet.ts';
import { keyOfSsrc, ssrcOfKey } from '../../rtp/ssrc-key.ts';
import { KeyframeRequester } from '../keyframe-requester.ts';
import { PacketCache } from '../packet-cache.ts';
import type { Dynacast } from '../qos/dynacast.ts';
import { CachedKeyframe } from './cached-keyframe.ts';
import { LayerBitrates } from './layer-bitrates.ts';
import type { MediaPacket } from './media-packet.ts';
import { PacketDescriber } from './packet-describer.ts';
import { TrackWishes, type WaterbusQuality } from './track-wishes.ts';

export type { WaterbusQuality } from './track-wishes.ts';

export interface TrackCodec {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number | undefined;
  fmtp: Record<string, string | number>;
}

export type { MediaPacket } from './media-packet.ts';

export interface TrackSink {
  writeRtp(packet: MediaPacket): void;
  /** A higher simulcast layer started arriving. */
  layerAdded?(ssrc: number, index: number): void;
  /** Dynacast asked the publisher to stop these spatial layers (false) or send them (true). */
  layersActive?(active: readonly boolean[]): void;
  /** The publisher's sender report for a layer (a relay to another worker passes it on). */
  senderReport?(ssrc: number, ntpMs: number, rtpTimestamp: number): void;
  /** Packets withheld (an operator's mute) flow again: continue without a sequence gap. */
  sourceResumed?(): void;
}

let lastSourceId = 0;
/** The next MediaPacket.sourceId (a small integer, unique in this thread). */
function nextSourceId(): number {
  lastSourceId = (lastSourceId + 1) & 0x3fffffff;
  return lastSourceId;
}

interface Layer {
  ssrc: number;
  /** MediaPacket.sourceId of its packets. */
  sourceId: number;
  index: number;
  cache: PacketCache;
  /** Video: where the newest keyframe starts in `cache`, for DownTracks that start late. */
  keyframe: CachedKeyframe;
  lastSenderReport: { ntpMs: number; rtpTimestamp: number } | undefined;
}

/**
 * One published track with all its simulcast layers. It parses each packet once, keeps a NACK
 * cache per layer, asks the publisher for keyframes (throttled), and fans packets out to its
 * sinks (DownTracks).
 *
 * Lifecycle: created from the publisher's SDP → layers appear as their SSRCs are first seen →
 * close() (publisher left) closes nothing downstream; the owner closes the DownTracks.
 */
export class UpTrack {
  readonly trackId: string;
  /**
   * A backup codec's encodings of the camera `backupOf` (that track's id): forwarded to the
   * subscribers who cannot decode that track, under its track id (backup-codecs.ts).
   */
  readonly backupOf: string | undefined;
  readonly streamId: string;
  readonly mid: string;
  readonly kind: 'audio' | 'video';
  readonly codec: TrackCodec;
  /** The publisher's header extensions for this track, with its ids. */
  readonly headerExtensions: ReadonlyArray<{ uri: string; id: number }>;
  readonly sinks = new Set<TrackSink>();
  readonly #isKeyframe: KeyframeDetector | undefined;
  /** By keyOfSsrc (no heap number per look-up): the methods take an SSRC in either form. */
  readonly #layers = new Map<number, Layer>();
  /** Simulcast rids in order low → high; a layer's index is its rid's position. */
  readonly #rids: string[];
  readonly #keyframes: KeyframeRequester;
  readonly clock: Clock;
  /**
   * All spatial layers in one SSRC (SVC); the selector works on spatial ids: VP9 without rids
   * (SIDs), or AV1 without rids with the dependency descriptor negotiated (template spatial ids).
   */
  readonly svc: boolean;
  readonly #codecName: string;
  /** Video: temporal (and SVC spatial) ids of each packet, from its payload or the AV1 DD. */
  readonly #describer: PacketDescriber | undefined;
  /** AV1: the publisher's id of the dependency descriptor extension, 0 when not negotiated. */
  readonly #ddId: number;
  /** The latest dependency structure received (it comes with keyframes); AV1 with the DD only. */
  get dependencyStructure(): DependencyStructure | undefined {
    return this.#describer?.dependencyStructure;
  }
  readonly #bitrates: LayerBitrates;
  /** Video: what its subscribers want of it (Dynacast, and the quality told to the publisher). */
  readonly #wishes: TrackWishes | undefined;
  /** Reused for every packet: sinks read it during `writeRtp` and keep nothing of it. */
  readonly #packet: MediaPacket = {
    buffer: Buffer.alloc(0),
    headerBytes: 0,
    ssrc: 0,
    sourceId: 0,
    sequenceNumber: 0,
    timestamp: 0,
    marker: false,
    keyframe: false,
    layer: 0,
    spatial: 0,
    temporal: -1,
    layerSync: false,
    endOfFrame: false,
  };
  /** The packet object of replays (replayKeyframe), apart from the one of received packets. */
  readonly #replayed: MediaPacket = { ...this.#packet };
  packetsReceived = 0;
  /** Packets of a layer dropped for a padding count that does not fit them (RFC 3550 §5.1). */
  packetsMalformed = 0;
  /**
   * When the publisher's stream last lost packets on its way here (ms, the track's clock): while
   * they may still be repaired (NACK to the publisher), a subscriber asking for them is not yet
   * answered with a keyframe request.
   */
  lastUpstreamLossMs = Number.NEGATIVE_INFINITY;
  #muted = false;

  constructor(options: {
    trackId: string;
    backupOf?: string | undefined;
    streamId: string;
    mid: string;
    kind: 'audio' | 'video';
    codec: TrackCodec;
    rids: string[];
    headerExtensions?: ReadonlyArray<{ uri: string; id: number }>;
    clock: Clock;
    sendPli: (ssrc: number) => void;
    /** Dynacast's decision for this (video) track: the highest quality any subscriber wants. */
    onLayersWanted?: ((quality: WaterbusQuality, subscribedCount: number) => void) | undefined;
  }) {
    this.trackId = options.trackId;
    this.backupOf = options.backupOf;
    this.streamId = options.streamId;
    this.mid = options.mid;
    this.kind = options.kind;
    this.codec = options.codec;
    this.headerExtensions = options.headerExtensions ?? [];
    this.#rids = options.rids;
    this.#isKeyframe = options.kind === 'video' ? keyframeDetector(options.codec.mimeType) : undefined;
    this.#keyframes = new KeyframeRequester({ clock: options.clock, send: options.sendPli });
    this.clock = options.clock;
    this.#codecName = options.codec.mimeType.toLowerCase();
    this.#ddId =
      this.#codecName === 'video/av1'
        ? (this.headerExtensions.find((e) => e.uri === DEPENDENCY_DESCRIPTOR_URI)?.id ?? 0)
        : 0;
    this.svc = (this.#codecName === 'video/vp9' || this.#ddId !== 0) && options.rids.length === 0;
    this.#describer =
      options.kind === 'video' ? new PacketDescriber(this.#codecName, this.#ddId, this.svc) : undefined;
    this.#bitrates = new LayerBitrates(options.clock.nowMs());
    this.#wishes =
      options.kind === 'video'
        ? new TrackWishes({
            clock: options.clock,
            layerCount: Math.max(options.rids.length, this.svc ? 3 : 1),
            onLayersActive: (active) => {
              for (const sink of this.sinks) sink.layersActive?.(active);
            },
            onLayersWanted: options.onLayersWanted,
          })
        : undefined;
  }

  /** Dynacast of this video track: which spatial layers any subscriber may want. */
  get dynacast(): Dynacast | undefined {
    return this.#wishes?.dynacast;
  }

  /**
   * The highest spatial layer `subscriberId` may want of this track (its `preferred`), -1 when it
   * paused it; feeds Dynacast.
   */
  setSubscriberWish(subscriberId: string, spatial: number): void {
    this.#wishes?.set(subscriberId, spatial);
  }

  removeSubscriberWish(subscriberId: string): void {
    this.#wishes?.remove(subscriberId);
  }

  /** Subscribers that want some layer of this track (video; 0 for audio). */
  get subscribedCount(): number {
    return this.#wishes?.subscribedCount ?? 0;
  }

  /** Waterbus quality of what Dynacast asks the publisher to send: highest active layer + 1, 0 for none. */
  get wantedQuality(): WaterbusQuality {
    return this.#wishes?.wantedQuality ?? 0;
  }

  /**
   * Measured bps per spatial layer and temporal layer, cumulative over temporal layers
   * (`[s][t]` = forwarding s with TIDs 0..t), over the last full window; 0 for what is not sent.
   */
  bitratesBps(): number[][] {
    return this.#bitrates.bitratesBps(this.clock.nowMs());
  }

  /** SSRC of spatial layer `spatial` (simulcast), or the only SSRC (SVC, single layer). */
  ssrcOfLayer(spatial: number): number | undefined {
    let best: Layer | undefined;
    for (const layer of this.#layers.values()) {
      if (layer.index === spatial) return layer.ssrc;
      if (layer.index <= spatial && (!best || layer.index > best.index)) best = layer;
    }
    return best?.ssrc ?? this.bestLayerSsrc;
  }

  /** The simulcast rids, low → high (empty without simulcast). */
  get rids(): readonly string[] {
    return this.#rids;
  }

  get layerCount(): number {
    return this.#layers.size;
  }

  /** SSRC of the best layer seen so far (the highest index). */
  get bestLayerSsrc(): number | undefined {
    let best: Layer | undefined;
    for (const layer of this.#layers.values()) if (!best || layer.index > best.index) best = layer;
    return best?.ssrc;
  }

  /** The spatial index of a known layer SSRC, or undefined. */
  layerIndexOf(ssrc: number): number | undefined {
    return this.#layers.get(keyOfSsrc(ssrc))?.index;
  }

  hasSsrc(ssrc: number): boolean {
    return this.#layers.has(keyOfSsrc(ssrc));
  }

  /** Registers a layer's SSRC (from the SDP, or learnt from the rid header extension). */
  addLayer(ssrc: number, rid: string | undefined): void {
    if (this.#layers.has(keyOfSsrc(ssrc))) return;
    const index = rid === undefined ? 0 : Math.max(0, this.#rids.indexOf(rid));
    this.#layers.set(keyOfSsrc(ssrc), {
      ssrc: ssrcOfKey(ssrc),
      sourceId: nextSourceId(),
      index,
      cache: new PacketCache({ capacity: this.kind === 'video' ? 512 : 128 }),
      keyframe: new CachedKeyframe(),
      lastSenderReport: undefined,
    });
    for (const sink of this.sinks) sink.layerAdded?.(ssrcOfKey(ssrc), index);
  }

  /**
   * `headerBytes`: the length of the packet's (valid) header, rtpHeaderBytes; `ssrc`: its layer's,
   * best as ssrcKey (a heap number otherwise when above 2^31).
   */
  onRtp(buffer: Buffer, headerBytes: number, ssrc: number): void {
    const layer = this.#layers.get(keyOfSsrc(ssrc));
    if (!layer) return;
    // Every reader after this one (describe, the DownTracks' VP8 munging, RTX) finds the end of
    // the payload by the padding count: one that does not fit the packet drops it.
    if (rtpPaddingBytes(buffer, headerBytes) < 0) {
      this.packetsMalformed++;
      return;
    }
    this.packetsReceived++;
    const keyframe = this.#keyframeAt(buffer, headerBytes);
    if (keyframe) this.#keyframes.keyframeReceived(layer.ssrc);
    const packet = this.#parse(this.#packet, buffer, headerBytes, layer, keyframe);
    layer.cache.store(packet.sequenceNumber, buffer);
    if (this.kind === 'video') {
      // The timestamp in its signed 32-bit form (a Smi, not a heap number): compared for equality only.
      layer.keyframe.received(
        packet.sequenceNumber,
        packet.timestamp | 0,
        packet.keyframe,
        this.clock.nowMs(),
      );
      this.#bitrates.count(packet.spatial, packet.temporal, buffer.length);
    } else this.#bitrates.count(0, 0, buffer.length);
    // Muted by an operator: still received, cached and measured, but forwarded to nobody.
    if (this.#muted) return;
    for (const sink of this.sinks) sink.writeRtp(packet);
  }

  /**
   * Replays to `sink` the newest keyframe of layer `ssrc` still whole in the cache and every packet
   * after it, in order, as they were received (CachedKeyframe says which, and the limits): a
   * DownTrack whose subscriber just connected starts there instead of waiting for a new keyframe.
   * Returns the packets replayed; 0 (nothing sent) when there is no such keyframe, or the track is
   * muted by an operator.
   */
  replayKeyframe(ssrc: number, sink: TrackSink): number {
    const layer = this.#layers.get(keyOfSsrc(ssrc));
    if (!layer || this.#muted || this.kind !== 'video') return 0;
    const range = layer.keyframe.replayRange(layer.cache, this.clock.nowMs());
    if (!range) return 0;
    const packet = this.#replayed;
    for (let i = 0; i < range.count; i++) {
      const buffer = layer.cache.get((range.firstSeq + i) & 0xffff)!;
      const headerBytes = rtpHeaderBytes(buffer);
      sink.writeRtp(this.#parse(packet, buffer, headerBytes, layer, this.#keyframeAt(buffer, headerBytes)));
    }
    return range.count;
  }

  #keyframeAt(buffer: Buffer, headerBytes: number): boolean {
    return this.#isKeyframe ? this.#isKeyframe(buffer, headerBytes, buffer.length) : false;
  }

  /**
   * Fills `packet` from a received (or cached) packet of `layer`, `keyframe` by the codec's
   * payload (SVC refines it to the intra picture's first packet); measures nothing.
   */
  #parse(
    packet: MediaPacket,
    buffer: Buffer,
    headerBytes: number,
    layer: Layer,
    keyframe: boolean,
  ): MediaPacket {
    packet.buffer = buffer;
    packet.headerBytes = headerBytes;
    packet.ssrc = layer.ssrc;
    packet.sourceId = layer.sourceId;
    packet.sequenceNumber = buffer.readUInt16BE(2);
    packet.timestamp = buffer.readUInt32BE(4);
    packet.marker = (buffer[1]! & 0x80) !== 0;
    packet.keyframe = keyframe;
    packet.layer = layer.index;
    packet.spatial = layer.index;
    packet.temporal = -1;
    packet.layerSync = false;
    packet.endOfFrame = packet.marker;
    this.#describer?.describe(packet, buffer, headerBytes);
    return packet;
  }

  onSenderReport(ssrc: number, ntpMs: number, rtpTimestamp: number): void {
    const layer = this.#layers.get(keyOfSsrc(ssrc));
    if (!layer) return;
    layer.lastSenderReport = { ntpMs, rtpTimestamp };
    for (const sink of this.sinks) sink.senderReport?.(layer.ssrc, ntpMs, rtpTimestamp);
  }

  senderReport(ssrc: number): { ntpMs: number; rtpTimestamp: number } | undefined {
    return this.#layers.get(keyOfSsrc(ssrc))?.lastSenderReport;
  }

  /** A cached packet for retransmission, or undefined when it has left the cache. */
  cached(ssrc: number, sequenceNumber: number): Buffer | undefined {
    return this.#layers.get(keyOfSsrc(ssrc))?.cache.get(sequenceNumber);
  }

  /** Stopped by an operator (MediaStateRequest.enforce): received and measured, forwarded to nobody. */
  get muted(): boolean {
    return this.#muted;
  }

  /** Stops or resumes forwarding; video resumes at a keyframe, asked for now. */
  setMuted(muted: boolean): void {
    if (muted === this.#muted) return;
    this.#muted = muted;
    if (!muted) this.resumed();
  }

  /**
   * Forwarding resumes after withheld packets (setMuted(false) here, or the publisher's worker
   * told a relayed track so): the sinks continue without a sequence gap; video restarts at a
   * keyframe, asked for now.
   */
  resumed(): void {
    for (const sink of this.sinks) sink.sourceResumed?.();
    this.requestKeyframe();
  }

  requestKeyframe(ssrc?: number): void {
    if (this.kind !== 'video') return;
    const target = ssrc ?? this.bestLayerSsrc;
    if (target !== undefined) this.#keyframes.request(target);
  }

  close(): void {
    this.#keyframes.close();
    this.#wishes?.close();
    this.sinks.clear();
  }
}
