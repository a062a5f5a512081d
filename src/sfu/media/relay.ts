import type { MessagePort } from 'node:worker_threads';
import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import { mediaCounters, mediaCounting } from '../../lib/media-counters.ts';
import type { MediaState } from '../../protocol/sfu-api.ts';
import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { ssrcKey } from '../../rtp/ssrc-key.ts';
import { decodeHandoverBatch, HandoverBatchWriter } from './handover-batch.ts';
import { type MediaPacket, type TrackCodec, type TrackSink, UpTrack } from './up-track.ts';

/**
 * A room spanning media workers. A subscriber's connections live on its home worker; when it
 * subscribes to a publisher homed on another worker, the subscriber's worker holds a proxy of the
 * publisher (RemoteUpTracks fed with relayed packets) and the publisher's worker attaches one
 * RelaySink per (track, destination worker) — not one per subscriber. Packets travel in batches
 * (handover-batch.ts) over a MessageChannel between the two workers; feedback (keyframe requests,
 * Dynacast wishes) goes back on the same channel.
 *
 * Who holds what:
 *   publisher's worker:  UpTrack.sinks ∋ RelaySink → PeerLink.writer → batch → port
 *   subscriber's worker: port → decodeHandoverBatch → RemoteUpTrack.receive → DownTracks
 */

/** What a subscriber's worker needs to know of a published track to forward it. */
export interface RelayedTrack {
  /** The track's number on the publisher's worker: names it in batches and feedback. */
  relayId: number;
  mid: string;
  kind: 'audio' | 'video';
  trackId: string;
  /** A backup codec's track: the id of the camera it backs up (backup-codecs.ts). */
  backupOf?: string | undefined;
  streamId: string;
  codec: TrackCodec;
  rids: string[];
  headerExtensions: Array<{ uri: string; id: number }>;
}

/** A publisher as described to another worker (the `exportPublisher` worker operation). */
export interface RelayedPublisher {
  participantId: ParticipantId;
  mediaState: MediaState;
  tracks: RelayedTrack[];
}

/** Messages between two media workers on their MessageChannel. */
export type PeerMessage =
  /** Packets of relayed tracks (publisher's worker → subscriber's). */
  | { t: 'rtp'; batch: ArrayBuffer }
  /**
   * Start relaying this publisher's tracks here; `relayIds` are the tracks the sender knows. Its
   * backups are relayed only while listed in `backups` (a subscriber here is given them): the
   * sender says `want` again whenever that list changes.
   */
  | { t: 'want'; roomId: RoomId; publisherId: ParticipantId; relayIds: number[]; backups?: number[] }
  /** No subscriber here needs this publisher any more. */
  | { t: 'unwant'; roomId: RoomId; publisherId: ParticipantId }
  /** The publisher left (or was replaced): drop its proxy and the subscriptions to it. */
  | { t: 'gone'; roomId: RoomId; publisherId: ParticipantId }
  /** The publisher added tracks (renegotiation). */
  | { t: 'tracks'; roomId: RoomId; publisherId: ParticipantId; tracks: RelayedTrack[] }
  | { t: 'state'; roomId: RoomId; publisherId: ParticipantId; state: Partial<MediaState> }
  /** A subscriber here needs a keyframe of this layer (0: the best layer). */
  | { t: 'keyframe'; relayId: number; ssrc: number }
  /** A subscriber's Dynacast wish for a track (highest spatial layer, -1 paused), null when it left. */
  | { t: 'wish'; relayId: number; subscriberId: ParticipantId; spatial: number | null }
  /** The publisher's sender report of a layer (A/V sync on the subscriber's side). */
  | { t: 'sr'; relayId: number; ssrc: number; ntpMs: number; rtpTimestamp: number }
  /** The track forwards again after withheld packets (an operator's unmute). */
  | { t: 'resumed'; relayId: number };

/** The peer message of type `T`. */
export type PeerMessageOf<T extends PeerMessage['t']> = Extract<PeerMessage, { t: T }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isU32 = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const isId = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && v.length <= 256;

function isRelayedTrack(v: unknown): v is RelayedTrack {
  if (!isObject(v)) return false;
  const codec = v.codec;
  return (
    isU32(v.relayId) &&
    typeof v.mid === 'string' &&
    (v.kind === 'audio' || v.kind === 'video') &&
    typeof v.trackId === 'string' &&
    (v.backupOf === undefined || typeof v.backupOf === 'string') &&
    typeof v.streamId === 'string' &&
    isObject(codec) &&
    typeof codec.mimeType === 'string' &&
    Number.isInteger(codec.payloadType) &&
    Number.isInteger(codec.clockRate) &&
    isObject(codec.fmtp) &&
    Array.isArray(v.rids) &&
    v.rids.every((r) => typeof r === 'string') &&
    Array.isArray(v.headerExtensions) &&
    v.headerExtensions.every((e) => isObject(e) && typeof e.uri === 'string' && Number.isInteger(e.id))
  );
}

/** The message if it is a well-formed PeerMessage, else undefined (the caller counts and drops it). */
export function parsePeerMessage(msg: unknown): PeerMessage | undefined {
  if (!isObject(msg)) return undefined;
  switch (msg.t) {
    case 'rtp':
      return msg.batch instanceof ArrayBuffer ? (msg as PeerMessage) : undefined;
    case 'want':
      return isId(msg.roomId) &&
        isId(msg.publisherId) &&
        Array.isArray(msg.relayIds) &&
        msg.relayIds.every(isU32) &&
        (msg.backups === undefined || (Array.isArray(msg.backups) && msg.backups.every(isU32)))
        ? (msg as PeerMessage)
        : undefined;
    case 'unwant':
    case 'gone':
      return isId(msg.roomId) && isId(msg.publisherId) ? (msg as PeerMessage) : undefined;
    case 'tracks':
      return isId(msg.roomId) &&
        isId(msg.publisherId) &&
        Array.isArray(msg.tracks) &&
        msg.tracks.every(isRelayedTrack)
        ? (msg as PeerMessage)
        : undefined;
    case 'state':
      return isId(msg.roomId) && isId(msg.publisherId) && isObject(msg.state)
        ? (msg as PeerMessage)
        : undefined;
    case 'keyframe':
      return isU32(msg.relayId) && isU32(msg.ssrc) ? (msg as PeerMessage) : undefined;
    case 'wish':
      return isU32(msg.relayId) &&
        isId(msg.subscriberId) &&
        (msg.spatial === null || (Number.isInteger(msg.spatial) && (msg.spatial as number) >= -1))
        ? (msg as PeerMessage)
        : undefined;
    case 'sr':
      return isU32(msg.relayId) && isU32(msg.ssrc) && Number.isFinite(msg.ntpMs) && isU32(msg.rtpTimestamp)
        ? (msg as PeerMessage)
        : undefined;
    case 'resumed':
      return isU32(msg.relayId) ? (msg as PeerMessage) : undefined;
    default:
      return undefined;
  }
}

export function describeTrack(relayId: number, up: UpTrack): RelayedTrack {
  return {
    relayId,
    mid: up.mid,
    kind: up.kind,
    trackId: up.trackId,
    ...(up.backupOf === undefined ? {} : { backupOf: up.backupOf }),
    streamId: up.streamId,
    codec: { ...up.codec, fmtp: { ...up.codec.fmtp } },
    rids: [...up.rids],
    headerExtensions: up.headerExtensions.map((e) => ({ uri: e.uri, id: e.id })),
  };
}

/** Counters of one direction of a link, for dump() and the bench. */
export interface LinkStats {
  batchesIn: number;
  packetsIn: number;
  /** Relayed packets of a track this worker does not (or no longer) hold. */
  unknownTrack: number;
  /** Malformed batches or messages from the peer, dropped. */
  malformed: number;
}

/**
 * This worker's end of the MessageChannel to one other media worker: a batch writer for the
 * packets going there, and the proxies of its publishers' tracks living here (by its relay ids).
 */
export class PeerLink {
  readonly index: number;
  readonly #port: MessagePort;
  readonly writer: HandoverBatchWriter;
  /** Proxies of the peer's tracks, by the peer's relay id. */
  readonly incoming = new Map<number, RemoteUpTrack>();
  readonly stats: LinkStats = { batchesIn: 0, packetsIn: 0, unknownTrack: 0, malformed: 0 };
  #closed = false;

  constructor(
    index: number,
    port: MessagePort,
    onMessage: (msg: Exclude<PeerMessage, { t: 'rtp' }>) => void,
  ) {
    this.index = index;
    this.#port = port;
    this.writer = new HandoverBatchWriter({
      onBatch: (batch) => {
        if (!this.#closed) this.#port.postMessage({ t: 'rtp', batch } satisfies PeerMessage, [batch]);
      },
    });
    port.on('message', (raw: unknown) => {
      const msg = parsePeerMessage(raw);
      if (!msg) {
        this.stats.malformed++;
        return;
      }
      if (msg.t === 'rtp') this.#receive(msg.batch);
      else onMessage(msg);
    });
  }

  post(msg: Exclude<PeerMessage, { t: 'rtp' }>): void {
    if (this.#closed) return;
    // Control messages must not overtake packets already batched for the same track.
    this.writer.flush();
    this.#port.postMessage(msg);
  }

  #receive(batch: ArrayBuffer): void {
    try {
      const count = decodeHandoverBatch(batch, (relayId, layer, packet) => {
        const track = this.incoming.get(relayId);
        if (track) track.receive(layer, packet);
        else this.stats.unknownTrack++;
      });
      this.stats.batchesIn++;
      this.stats.packetsIn += count;
      if (mediaCounting.on) mediaCounters.relayedPacketsReceived += count;
    } catch {
      this.stats.malformed++;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.writer.close();
    this.#port.close();
    this.incoming.clear();
  }
}

/**
 * On the publisher's worker: forwards every packet of one track to one other worker (whatever the
 * number of subscribers there), and its sender reports.
 */
export class RelaySink implements TrackSink {
  readonly relayId: number;
  readonly #link: PeerLink;
  packets = 0;

  constructor(relayId: number, link: PeerLink) {
    this.relayId = relayId;
    this.#link = link;
  }

  writeRtp(packet: MediaPacket): void {
    this.packets++;
    if (mediaCounting.on) mediaCounters.relayedPacketsSent++;
    this.#link.writer.append(this.relayId, packet.layer, packet.buffer);
  }

  senderReport(ssrc: number, ntpMs: number, rtpTimestamp: number): void {
    this.#link.post({ t: 'sr', relayId: this.relayId, ssrc, ntpMs, rtpTimestamp });
  }

  sourceResumed(): void {
    this.#link.post({ t: 'resumed', relayId: this.relayId });
  }
}

export interface RemoteTrackFeedback {
  keyframe(relayId: number, ssrc: number): void;
  wish(relayId: number, subscriberId: ParticipantId, spatial: number | null): void;
}

/**
 * On the subscriber's worker: a published track of another worker, seen by DownTracks as any
 * UpTrack. Relayed packets go through the same parsing (layers, keyframes, temporal ids, bitrate
 * windows, its own NACK cache, so retransmissions are answered here); keyframe requests and
 * Dynacast wishes go back to the publisher's worker, which throttles and aggregates them with its
 * own subscribers'.
 */
export class RemoteUpTrack extends UpTrack {
  readonly relayId: number;
  readonly fromWorker: number;
  readonly #rids: string[];
  readonly #feedback: RemoteTrackFeedback;

  constructor(options: {
    track: RelayedTrack;
    fromWorker: number;
    clock: Clock;
    feedback: RemoteTrackFeedback;
  }) {
    const t = options.track;
    super({
      trackId: t.trackId,
      backupOf: t.backupOf,
      streamId: t.streamId,
      mid: t.mid,
      kind: t.kind,
      codec: t.codec,
      rids: t.rids,
      headerExtensions: t.headerExtensions,
      clock: options.clock,
      // Keyframe requests go to the publisher's worker (requestKeyframe below).
      sendPli: () => undefined,
    });
    this.relayId = t.relayId;
    this.fromWorker = options.fromWorker;
    this.#rids = t.rids;
    this.#feedback = options.feedback;
  }

  /** A relayed packet; its layer index (from the publisher's worker) names the layer of a new SSRC. */
  receive(layer: number, packet: Buffer): void {
    const headerBytes = rtpHeaderBytes(packet);
    if (headerBytes < 0) return;
    // Signed (ssrcKey): above 2^31 an SSRC is a heap number per packet; the UpTrack takes either.
    const ssrc = ssrcKey(packet, 8);
    if (!this.hasSsrc(ssrc)) this.addLayer(ssrc, this.#rids.length > 0 ? this.#rids[layer] : undefined);
    this.onRtp(packet, headerBytes, ssrc);
  }

  override requestKeyframe(ssrc?: number): void {
    if (this.kind !== 'video') return;
    this.#feedback.keyframe(this.relayId, ssrc ?? this.bestLayerSsrc ?? 0);
  }

  override setSubscriberWish(subscriberId: string, spatial: number): void {
    super.setSubscriberWish(subscriberId, spatial);
    if (this.kind === 'video') this.#feedback.wish(this.relayId, subscriberId as ParticipantId, spatial);
  }

  override removeSubscriberWish(subscriberId: string): void {
    super.removeSubscriberWish(subscriberId);
    if (this.kind === 'video') this.#feedback.wish(this.relayId, subscriberId as ParticipantId, null);
  }
}
