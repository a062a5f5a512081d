import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { EgressInfo, EgressRequest, EgressStats } from '../protocol/egress.ts';
import type { RelayedTrack } from './media/relay.ts';

// Egress code imports the SFU through this file only (the boundary rules say so).
// HandoverBatchWriter: what a tap's worker side writes, for egress tests that play one.
export { decodeHandoverBatch, HandoverBatchWriter } from './media/handover-batch.ts';
export type { RelayedTrack } from './media/relay.ts';
export type { TrackCodec } from './media/up-track.ts';

/**
 * The narrow contract between the SFU and egress (packages/egress, loaded only when EGRESS_ENABLED
 * is set). Egress is one more subscriber of a publisher's tracks: the media worker hosting the
 * publisher attaches a sink per track that copies its packets, in handover batches
 * (media/handover-batch.ts), onto a MessagePort — the same way a room spanning workers relays a
 * publisher to another worker (media/relay.ts) — so it never touches other subscribers'
 * per-packet path and works the same on every node of a cluster.
 *
 * Messages on a tap's port:
 *   worker → egress: `{ t: 'rtp', batch }` (records name tracks by `relayId`, layer = simulcast index),
 *                    `{ t: 'sr', relayId, ssrc, ntpMs, rtpTimestamp }` (the publisher's sender reports),
 *                    `{ t: 'tracks', tracks }` (tracks added by renegotiation),
 *                    `{ t: 'gone' }` (the publisher left: the tap is over, the port closes).
 *   egress → worker: `{ t: 'keyframe', relayId, ssrc }` (0: the best layer; throttled by the UpTrack),
 *                    `{ t: 'layer', relayId, layer }` (forward only this simulcast layer, -1 all).
 * Closing the port from either side detaches the sinks.
 */
export interface PublisherTap {
  participantId: ParticipantId;
  tracks: RelayedTrack[];
  port: MessagePort;
}

export type TapMessage =
  | { t: 'rtp'; batch: ArrayBuffer }
  | { t: 'sr'; relayId: number; ssrc: number; ntpMs: number; rtpTimestamp: number }
  | { t: 'tracks'; tracks: RelayedTrack[] }
  | { t: 'gone' };

export type TapFeedback =
  | { t: 'keyframe'; relayId: number; ssrc: number }
  | { t: 'layer'; relayId: number; layer: number };

/** What the SFU offers an egress backend: the room's publishers and taps on their tracks. */
export interface EgressSource {
  readonly nodeId: string;
  /** Participants of the room whose tracks all arrived (publisherReady), in join order. */
  publishers(roomId: RoomId): ParticipantId[];
  /** Attaches a tap to the participant's published tracks on the worker hosting them. */
  tap(roomId: RoomId, participantId: ParticipantId): Promise<PublisherTap>;
  /**
   * Publishers of a room becoming ready or leaving (for room egress). Returns the unsubscribe.
   * 'roomClosed': the room's last participant left.
   */
  watch(
    roomId: RoomId,
    listener: (
      change: { type: 'ready' | 'left'; participantId: ParticipantId } | { type: 'roomClosed' },
    ) => void,
  ): () => void;
}

/** An egress implementation (packages/egress implements it; the SFU owns one per process). */
export interface EgressBackend {
  start(req: EgressRequest): Promise<EgressInfo>;
  /** Resolves once the egress's files are finalised. */
  stop(egressId: string, reason: string): Promise<EgressInfo>;
  /** Running and recently ended egresses, of one room or all. */
  list(roomId?: RoomId): EgressInfo[];
  /** Every state change (started, active, ended with its reason): the SFU turns it into a room event. */
  onUpdate(listener: (info: EgressInfo) => void): void;
  /** Server shutdown: ends every egress cleanly (recordings closed with their index). */
  close(): Promise<void>;
  /**
   * Counters since start for the `bbmeet_egress_*` metrics, carried by the dump. Optional so a
   * backend written before it (test doubles) still fits; the SFU reports nothing without it.
   */
  stats?(): EgressStats;
}

/** Egress settings (config.ts `egress`, from the EGRESS_* and STORAGE_* variables). */
export interface EgressSettings {
  /** HLS segments, recordings and their temporary files go under this directory. */
  dataDir: string;
  /** Target HLS segment duration (a segment starts at a keyframe at or after it). */
  segmentSeconds: number;
  /** LL-HLS partial segment duration; 0 turns low latency off. */
  partSeconds: number;
  /** Segments kept in a live playlist (older ones are deleted). */
  windowSegments: number;
  /** Absolute URL of this node's `/egress/` root when it differs from the server clients talk to. */
  publicUrl: string | null;
  /** An S3-compatible bucket finished recordings (and HLS segments) are uploaded to, or null. */
  storage: {
    endpoint: string;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
  } | null;
}

/**
 * What packages/egress serves over HTTP, mounted by the role under `/egress/` (the embedded
 * server's own port; a cluster SFU node's EGRESS_HTTP_PORT): playlists, segments, recordings, the
 * viewer pages, and the MoQ WebSocket endpoint (`/egress/moq`).
 */
export interface EgressHttp {
  /** Answers a request whose path starts with `/egress/`. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Takes a WebSocket upgrade on `/egress/moq`; false: not ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

/** packages/egress's entry point (`createEgress` export), loaded with a dynamic import. */
export type CreateEgress = (options: {
  source: EgressSource;
  settings: EgressSettings;
  logger: Logger;
}) => Promise<{ backend: EgressBackend; http: EgressHttp }>;
