import type { MessagePort } from 'node:worker_threads';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { TapFeedback, TapMessage } from '../egress-backend.ts';
import { MAX_SPATIAL_LAYERS } from '../qos/video-layer.ts';
import { primaryTracks } from './backup-codecs.ts';
import { HandoverBatchWriter } from './handover-batch.ts';
import type { RelayedTrack } from './relay.ts';
import type { MediaPacket, TrackSink, UpTrack } from './up-track.ts';

/**
 * Egress taps inside a media worker (the worker side of the contract in ../egress-backend.ts).
 * A tap is one more subscriber of a publisher's tracks: one TapSink per UpTrack copies its
 * packets into handover batches on the tap's MessagePort, like a RelaySink to another worker
 * (relay.ts), and the egress's feedback (keyframes, the simulcast layer it takes) comes back on
 * the same port.
 *
 * Lifecycle: open() when the control side asks → tracksAdded() on renegotiation → publisherGone()
 * (posts 'gone', then closes) or the port closed by the egress → the sinks are detached.
 */

type Describe = (roomId: RoomId, publisherId: ParticipantId, up: UpTrack) => RelayedTrack;

/** A tap's wish (Dynacast) is keyed by this, beside the subscribers' ids. */
const WISH_PREFIX = 'egress-tap:';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isU32 = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** The message if it is well-formed TapFeedback, else undefined (counted and dropped). */
export function parseTapFeedback(msg: unknown): TapFeedback | undefined {
  if (!isObject(msg) || !isU32(msg.relayId)) return undefined;
  if (msg.t === 'keyframe') return isU32(msg.ssrc) ? (msg as TapFeedback) : undefined;
  if (msg.t === 'layer')
    return Number.isInteger(msg.layer) && (msg.layer as number) >= -1 && (msg.layer as number) < 256
      ? (msg as TapFeedback)
      : undefined;
  return undefined;
}

/** Copies one track's packets to a tap; `layer` ≥ 0 forwards only that simulcast layer. */
export class TapSink implements TrackSink {
  readonly relayId: number;
  readonly #tap: EgressTap;
  /** -1: every layer (until the egress says which one it takes). */
  layer = -1;
  packets = 0;

  constructor(relayId: number, tap: EgressTap) {
    this.relayId = relayId;
    this.#tap = tap;
  }

  writeRtp(packet: MediaPacket): void {
    if (this.layer >= 0 && packet.layer !== this.layer) return;
    this.packets++;
    this.#tap.writer.append(this.relayId, packet.layer, packet.buffer);
  }

  senderReport(ssrc: number, ntpMs: number, rtpTimestamp: number): void {
    this.#tap.post({ t: 'sr', relayId: this.relayId, ssrc, ntpMs, rtpTimestamp });
  }
}

/** One tap: a publisher's tracks copied onto one MessagePort. */
export class EgressTap {
  readonly id: number;
  readonly roomId: RoomId;
  readonly publisherId: ParticipantId;
  readonly writer: HandoverBatchWriter;
  readonly #port: MessagePort;
  readonly #sinks = new Map<UpTrack, TapSink>();
  readonly #onClosed: (tap: EgressTap) => void;
  /** Feedback messages that were not TapFeedback, dropped. */
  malformed = 0;
  #closed = false;

  constructor(options: {
    id: number;
    roomId: RoomId;
    publisherId: ParticipantId;
    port: MessagePort;
    onClosed: (tap: EgressTap) => void;
  }) {
    this.id = options.id;
    this.roomId = options.roomId;
    this.publisherId = options.publisherId;
    this.#port = options.port;
    this.#onClosed = options.onClosed;
    this.writer = new HandoverBatchWriter({
      onBatch: (batch) => {
        if (!this.#closed) this.#port.postMessage({ t: 'rtp', batch } satisfies TapMessage, [batch]);
      },
    });
    this.#port.on('message', (raw: unknown) => this.#onFeedback(raw));
    // The egress closed its end (stopped, or its thread is gone): nothing to copy any more.
    this.#port.on('close', () => this.close());
  }

  get sinkCount(): number {
    return this.#sinks.size;
  }

  /** Starts copying `up` (relayId: its number in batches and feedback). */
  attach(up: UpTrack, relayId: number): void {
    if (this.#closed || this.#sinks.has(up)) return;
    const sink = new TapSink(relayId, this);
    this.#sinks.set(up, sink);
    up.sinks.add(sink);
    this.#wish(up, -1);
  }

  post(msg: Exclude<TapMessage, { t: 'rtp' }>): void {
    if (this.#closed) return;
    // Control messages must not overtake packets already batched.
    this.writer.flush();
    this.#port.postMessage(msg);
  }

  /** Tracks added by renegotiation: copied too, and announced. */
  tracksAdded(added: Array<{ up: UpTrack; track: RelayedTrack }>): void {
    if (this.#closed || added.length === 0) return;
    for (const { up, track } of added) this.attach(up, track.relayId);
    this.post({ t: 'tracks', tracks: added.map((a) => a.track) });
  }

  /** The publisher left: the egress hears it, then the tap closes. */
  publisherGone(): void {
    this.post({ t: 'gone' });
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.writer.flush();
    this.#closed = true;
    for (const [up, sink] of this.#sinks) {
      up.sinks.delete(sink);
      up.removeSubscriberWish(this.#wishKey);
    }
    this.#sinks.clear();
    this.writer.close();
    this.#port.close();
    this.#onClosed(this);
  }

  get #wishKey(): string {
    return `${WISH_PREFIX}${this.id}`;
  }

  /** Dynacast keeps the layers the tap takes (all of them for -1) coming from the publisher. */
  #wish(up: UpTrack, layer: number): void {
    if (up.kind === 'video') up.setSubscriberWish(this.#wishKey, layer < 0 ? MAX_SPATIAL_LAYERS - 1 : layer);
  }

  #onFeedback(raw: unknown): void {
    const msg = parseTapFeedback(raw);
    const entry = msg && [...this.#sinks].find(([, sink]) => sink.relayId === msg.relayId);
    if (!msg || !entry) {
      this.malformed++;
      return;
    }
    const [up, sink] = entry;
    if (msg.t === 'keyframe') {
      up.requestKeyframe(msg.ssrc === 0 ? undefined : msg.ssrc);
      return;
    }
    sink.layer = msg.layer;
    this.#wish(up, msg.layer);
    // The new layer is decodable only from its next keyframe.
    if (msg.layer >= 0) up.requestKeyframe(up.ssrcOfLayer(msg.layer));
  }
}

/** The taps of one worker, by room and publisher (the engine tells it when publishers change). */
export class EgressTaps {
  readonly #byPublisher = new Map<string, Set<EgressTap>>();
  readonly #describe: Describe;
  #nextId = 1;

  /** `describe` gives a track its relay id (the worker's numbering, shared with relays). */
  constructor(describe: Describe) {
    this.#describe = describe;
  }

  /**
   * A tap on the publisher's tracks over `port`; answers the tracks it copies. Throws not_found
   * when the participant publishes nothing here.
   */
  open(
    req: { roomId: RoomId; participantId: ParticipantId },
    publisher: { tracks: ReadonlyMap<string, UpTrack> } | undefined,
    port: MessagePort,
  ): RelayedTrack[] {
    if (!publisher)
      throw new SfuError(
        'not_found',
        `participant ${req.participantId} publishes nothing in room ${req.roomId}`,
      );
    const key = keyOf(req.roomId, req.participantId);
    const tap = new EgressTap({
      id: this.#nextId++,
      roomId: req.roomId,
      publisherId: req.participantId,
      port,
      onClosed: (closed) => {
        const set = this.#byPublisher.get(key);
        set?.delete(closed);
        if (set?.size === 0) this.#byPublisher.delete(key);
      },
    });
    let set = this.#byPublisher.get(key);
    if (!set) {
      set = new Set();
      this.#byPublisher.set(key, set);
    }
    set.add(tap);
    const described: RelayedTrack[] = [];
    // Egress records the camera in its own codec: a backup codec (backup-codecs.ts) is not copied.
    for (const up of primaryTracks(publisher.tracks.values())) {
      const track = this.#describe(req.roomId, req.participantId, up);
      tap.attach(up, track.relayId);
      described.push(track);
    }
    return described;
  }

  /** Tracks a publisher added by renegotiation: its taps copy them too. */
  tracksAdded(roomId: RoomId, publisherId: ParticipantId, added: UpTrack[]): void {
    const taps = this.#byPublisher.get(keyOf(roomId, publisherId));
    if (!taps) return;
    const described = primaryTracks(added).map((up) => ({
      up,
      track: this.#describe(roomId, publisherId, up),
    }));
    for (const tap of [...taps]) tap.tracksAdded(described);
  }

  publisherGone(roomId: RoomId, publisherId: ParticipantId): void {
    for (const tap of [...(this.#byPublisher.get(keyOf(roomId, publisherId)) ?? [])]) tap.publisherGone();
  }

  /** Taps on the room's publishers (the dump counts them so a leak check sees them). */
  count(roomId: RoomId): number {
    let n = 0;
    for (const set of this.#byPublisher.values()) for (const tap of set) if (tap.roomId === roomId) n++;
    return n;
  }

  closeAll(): void {
    for (const set of [...this.#byPublisher.values()]) for (const tap of [...set]) tap.publisherGone();
  }
}

function keyOf(roomId: RoomId, publisherId: ParticipantId): string {
  return `${roomId}\u0000${publisherId}`;
}
