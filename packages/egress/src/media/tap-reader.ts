import type { Logger } from '../../../../src/lib/logger.ts';
import {
  decodeHandoverBatch,
  type RelayedTrack,
  type TapFeedback,
  type TapMessage,
} from '../../../../src/sfu/egress-backend.ts';
import { type DepacketizerOptions, depacketizerFor } from './depacketizers.ts';
import type { MediaFrame } from './frame.ts';
import { DEFAULT_REORDER, type ReorderOptions } from './reorder-buffer.ts';
import { type PublisherClock, Timeline } from './timeline.ts';
import { TrackReader } from './track-reader.ts';

/** How often gaps, silent layers and missing keyframes are looked at. */
const TICK_MS = 25;

/** The side of a PublisherTap's MessagePort the reader uses (a worker_threads MessagePort). */
export interface TapPort {
  on(event: 'message', listener: (message: TapMessage) => void): unknown;
  off(event: 'message', listener: (message: TapMessage) => void): unknown;
  postMessage(message: TapFeedback): void;
}

export interface TapReaderOptions {
  logger: Logger;
  /** Each frame, in decode order per track, on the egress timeline. */
  onFrame: (track: RelayedTrack, frame: MediaFrame) => void;
  /** The publisher left (`gone`): no more frames. */
  onGone?: () => void;
  /** Tracks added by renegotiation (after the reader took them on). */
  onTracks?: (tracks: RelayedTrack[]) => void;
  /**
   * Layer to take, the track's top one by default: the simulcast layer of a simulcast track, the
   * highest spatial layer kept of a VP9 SVC track (one encoding, every layer in one stream).
   */
  layer?: number | 'highest';
  reorder?: ReorderOptions;
  /** Shared by the tracks of one egress (several publishers of a room egress share one). */
  timeline?: Timeline;
  now?: () => number;
}

/**
 * Reads a publisher tap: decodes the handover batches, hands each track's packets to its
 * TrackReader (reorder, depacketize, timeline), applies the sender reports, and answers with
 * keyframe requests and the layer choice on the same port.
 */
export class TapReader {
  readonly #port: TapPort;
  readonly #o: TapReaderOptions;
  readonly #now: () => number;
  readonly #clock: PublisherClock;
  readonly #tracks = new Map<number, TrackReader>();
  readonly #listener = (message: TapMessage): void => this.#message(message);
  #timer: NodeJS.Timeout | undefined;
  /** Batches that failed to decode (dropped whole), for stats and tests. */
  badBatches = 0;

  constructor(port: TapPort, tracks: RelayedTrack[], options: TapReaderOptions) {
    this.#port = port;
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#clock = (options.timeline ?? new Timeline(this.#now)).publisher();
    port.on('message', this.#listener);
    this.#addTracks(tracks);
    this.#timer = setInterval(() => this.poll(), TICK_MS);
    this.#timer.unref();
  }

  get tracks(): TrackReader[] {
    return [...this.#tracks.values()];
  }

  /** Stops reading (the owner closes the port, which detaches the tap). */
  close(): void {
    this.#port.off('message', this.#listener);
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #addTracks(tracks: RelayedTrack[]): void {
    for (const track of tracks) {
      if (this.#tracks.has(track.relayId)) continue;
      const codec = depacketizerFor(track.codec);
      if (!codec) {
        this.#o.logger.warn(
          { mimeType: track.codec.mimeType, mid: track.mid },
          'egress skips a track of a codec it cannot take',
        );
        continue;
      }
      const reader = new TrackReader({
        track,
        codec: codec.codec,
        depacketizer: codec.create(this.#spatialLimit(track)),
        clock: this.#clock,
        reorder: this.#o.reorder ?? DEFAULT_REORDER,
        layer: this.#o.layer ?? 'highest',
        send: (feedback) => this.#port.postMessage(feedback),
        onFrame: (frame) => this.#o.onFrame(track, frame),
      });
      this.#tracks.set(track.relayId, reader);
      reader.start(this.#now());
    }
  }

  /** SVC (one encoding): the layer asked for is a spatial layer, kept with those below it. */
  #spatialLimit(track: RelayedTrack): DepacketizerOptions {
    const layer = this.#o.layer ?? 'highest';
    return layer === 'highest' || track.rids.length > 1 ? {} : { maxSpatialLayer: Math.max(0, layer) };
  }

  #message(message: TapMessage): void {
    switch (message.t) {
      case 'rtp':
        this.#batch(message.batch);
        break;
      case 'sr':
        this.#tracks
          .get(message.relayId)
          ?.senderReport(message.ssrc, message.ntpMs, message.rtpTimestamp, this.#now());
        break;
      case 'tracks':
        this.#addTracks(message.tracks);
        this.#o.onTracks?.(message.tracks);
        break;
      case 'gone':
        this.close();
        this.#o.onGone?.();
        break;
    }
  }

  #batch(batch: ArrayBuffer): void {
    const nowMs = this.#now();
    try {
      decodeHandoverBatch(batch, (relayId, layer, packet) => {
        this.#tracks.get(relayId)?.packet(layer, packet, nowMs);
      });
    } catch (err) {
      // Why: a malformed batch is checked whole before any packet is delivered; drop it, go on.
      this.badBatches++;
      this.#o.logger.warn({ err }, 'egress dropped a malformed handover batch');
    }
  }

  /** The timer's work, now: gaps waited long enough, silent layers, keyframes still missing. */
  poll(): void {
    const nowMs = this.#now();
    for (const reader of this.#tracks.values()) reader.tick(nowMs);
  }
}
