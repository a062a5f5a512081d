import type { Clock } from '../../lib/clock.ts';
import { keyframeDetector } from '../../rtp/codecs/keyframe.ts';
import { KeyframeRequester } from '../keyframe-requester.ts';
import { PacketCache } from '../packet-cache.ts';

export interface TrackCodec {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number | undefined;
  fmtp: Record<string, string | number>;
}

/**
 * One received RTP packet, parsed once and shared read-only with every DownTrack. Valid only
 * during `writeRtp`: the UpTrack reuses the object for the next packet.
 */
export interface MediaPacket {
  buffer: Buffer;
  headerBytes: number;
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  keyframe: boolean;
  /** Simulcast layer index (0 = lowest), 0 for single-layer tracks. */
  layer: number;
}

export interface TrackSink {
  writeRtp(packet: MediaPacket): void;
  /** A higher simulcast layer started arriving. */
  layerAdded?(ssrc: number, index: number): void;
}

interface Layer {
  ssrc: number;
  index: number;
  cache: PacketCache;
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
  readonly streamId: string;
  readonly mid: string;
  readonly kind: 'audio' | 'video';
  readonly codec: TrackCodec;
  /** The publisher's header extensions for this track, with its ids. */
  readonly headerExtensions: ReadonlyArray<{ uri: string; id: number }>;
  readonly sinks = new Set<TrackSink>();
  readonly #isKeyframe: ((payload: Buffer) => boolean) | undefined;
  readonly #layers = new Map<number, Layer>();
  /** Simulcast rids in order low → high; a layer's index is its rid's position. */
  readonly #rids: string[];
  readonly #keyframes: KeyframeRequester;
  /** Reused for every packet: sinks read it during `writeRtp` and keep nothing of it. */
  readonly #packet: MediaPacket = {
    buffer: Buffer.alloc(0),
    headerBytes: 0,
    ssrc: 0,
    sequenceNumber: 0,
    timestamp: 0,
    marker: false,
    keyframe: false,
    layer: 0,
  };
  packetsReceived = 0;

  constructor(options: {
    trackId: string;
    streamId: string;
    mid: string;
    kind: 'audio' | 'video';
    codec: TrackCodec;
    rids: string[];
    headerExtensions?: ReadonlyArray<{ uri: string; id: number }>;
    clock: Clock;
    sendPli: (ssrc: number) => void;
  }) {
    this.trackId = options.trackId;
    this.streamId = options.streamId;
    this.mid = options.mid;
    this.kind = options.kind;
    this.codec = options.codec;
    this.headerExtensions = options.headerExtensions ?? [];
    this.#rids = options.rids;
    this.#isKeyframe = options.kind === 'video' ? keyframeDetector(options.codec.mimeType) : undefined;
    this.#keyframes = new KeyframeRequester({ clock: options.clock, send: options.sendPli });
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

  hasSsrc(ssrc: number): boolean {
    return this.#layers.has(ssrc);
  }

  /** Registers a layer's SSRC (from the SDP, or learnt from the rid header extension). */
  addLayer(ssrc: number, rid: string | undefined): void {
    if (this.#layers.has(ssrc)) return;
    const index = rid === undefined ? 0 : Math.max(0, this.#rids.indexOf(rid));
    this.#layers.set(ssrc, {
      ssrc,
      index,
      cache: new PacketCache({ capacity: this.kind === 'video' ? 512 : 128 }),
      lastSenderReport: undefined,
    });
    for (const sink of this.sinks) sink.layerAdded?.(ssrc, index);
  }

  onRtp(buffer: Buffer, headerBytes: number, ssrc: number): void {
    const layer = this.#layers.get(ssrc);
    if (!layer) return;
    this.packetsReceived++;
    const sequenceNumber = buffer.readUInt16BE(2);
    const keyframe = this.#isKeyframe ? this.#isKeyframe(buffer.subarray(headerBytes)) : false;
    if (keyframe) this.#keyframes.keyframeReceived(ssrc);
    layer.cache.store(sequenceNumber, buffer);
    const packet = this.#packet;
    packet.buffer = buffer;
    packet.headerBytes = headerBytes;
    packet.ssrc = ssrc;
    packet.sequenceNumber = sequenceNumber;
    packet.timestamp = buffer.readUInt32BE(4);
    packet.marker = (buffer[1]! & 0x80) !== 0;
    packet.keyframe = keyframe;
    packet.layer = layer.index;
    for (const sink of this.sinks) sink.writeRtp(packet);
  }

  onSenderReport(ssrc: number, ntpMs: number, rtpTimestamp: number): void {
    const layer = this.#layers.get(ssrc);
    if (layer) layer.lastSenderReport = { ntpMs, rtpTimestamp };
  }

  senderReport(ssrc: number): { ntpMs: number; rtpTimestamp: number } | undefined {
    return this.#layers.get(ssrc)?.lastSenderReport;
  }

  /** A cached packet for retransmission, or undefined when it has left the cache. */
  cached(ssrc: number, sequenceNumber: number): Buffer | undefined {
    return this.#layers.get(ssrc)?.cache.get(sequenceNumber);
  }

  requestKeyframe(ssrc?: number): void {
    if (this.kind !== 'video') return;
    const target = ssrc ?? this.bestLayerSsrc;
    if (target !== undefined) this.#keyframes.request(target);
  }

  close(): void {
    this.#keyframes.close();
    this.sinks.clear();
  }
}
