// A small egress backend for tests of the SFU side of egress: each egress taps one publisher
// (or the room's first) and counts what arrives per track and layer; no files, no HTTP.
import type { MessagePort } from 'node:worker_threads';
import { SfuError } from '../../src/lib/errors.ts';
import type { RoomId } from '../../src/lib/ids.ts';
import type { EgressInfo, EgressRequest } from '../../src/protocol/egress.ts';
import { rtpHeaderBytes } from '../../src/rtp/rtp-packet.ts';
import {
  type CreateEgress,
  decodeHandoverBatch,
  type EgressBackend,
  type EgressSource,
  type RelayedTrack,
  type TapFeedback,
  type TapMessage,
} from '../../src/sfu/egress-backend.ts';

export interface TrackCounts {
  track: RelayedTrack;
  packets: number;
  /** Packets per simulcast layer index. */
  byLayer: number[];
  /** VP8 keyframe starts per layer. */
  keyframesByLayer: number[];
  senderReports: number;
}

/** One running egress of the counting backend: what its tap delivered. */
export class CountingTap {
  readonly info: EgressInfo;
  readonly tracks = new Map<number, TrackCounts>();
  /** Every non-rtp message, in order. */
  readonly messages: Array<Exclude<TapMessage, { t: 'rtp' }>> = [];
  readonly #port: MessagePort;
  #closed = Promise.withResolvers<void>();
  #waiters: Array<() => void> = [];

  constructor(info: EgressInfo, tracks: RelayedTrack[], port: MessagePort) {
    this.info = info;
    this.#port = port;
    for (const track of tracks) this.#add(track);
    port.on('message', (msg: TapMessage) => this.#onMessage(msg));
    port.on('close', () => this.#closed.resolve());
  }

  /** Resolves once the worker closed the tap (or it was closed here). */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  feedback(msg: TapFeedback): void {
    this.#port.postMessage(msg);
  }

  video(): TrackCounts {
    const v = [...this.tracks.values()].find((t) => t.track.kind === 'video');
    if (!v) throw new Error('no video track tapped');
    return v;
  }

  audio(): TrackCounts {
    const a = [...this.tracks.values()].find((t) => t.track.kind === 'audio');
    if (!a) throw new Error('no audio track tapped');
    return a;
  }

  /** Resolves when `check()` holds after some message, or rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve();
      };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.#port.close();
  }

  #add(track: RelayedTrack): void {
    this.tracks.set(track.relayId, {
      track,
      packets: 0,
      byLayer: [],
      keyframesByLayer: [],
      senderReports: 0,
    });
  }

  #onMessage(msg: TapMessage): void {
    if (msg.t === 'rtp')
      decodeHandoverBatch(msg.batch, (relayId, layer, packet) => this.#count(relayId, layer, packet));
    else {
      this.messages.push(msg);
      if (msg.t === 'tracks') for (const track of msg.tracks) this.#add(track);
      if (msg.t === 'sr') {
        const counts = this.tracks.get(msg.relayId);
        if (counts) counts.senderReports++;
      }
    }
    for (const waiter of [...this.#waiters]) waiter();
  }

  #count(relayId: number, layer: number, packet: Buffer): void {
    const counts = this.tracks.get(relayId);
    if (!counts) return;
    counts.packets++;
    counts.byLayer[layer] = (counts.byLayer[layer] ?? 0) + 1;
    if (counts.track.kind === 'video' && isVp8KeyframeStart(packet))
      counts.keyframesByLayer[layer] = (counts.keyframesByLayer[layer] ?? 0) + 1;
  }
}

/** VP8 (RFC 7741 §4.2-4.3): the start of a partition 0 whose frame header's P bit is 0. */
function isVp8KeyframeStart(packet: Buffer): boolean {
  const header = rtpHeaderBytes(packet);
  if (header < 0 || packet.length < header + 2) return false;
  let i = header;
  const descriptor = packet[i]!;
  if ((descriptor & 0x10) === 0 || (descriptor & 0x07) !== 0) return false;
  if (descriptor & 0x80) {
    const ext = packet[++i]!;
    if (ext & 0x80) i += packet[i + 1]! & 0x80 ? 2 : 1;
    if (ext & 0x40) i++;
    if (ext & 0x30) i++;
  }
  return (packet[i + 1]! & 0x01) === 0;
}

/** The backend: `taps` holds every egress it started, by id. */
export class CountingEgressBackend implements EgressBackend {
  readonly source: EgressSource;
  readonly taps = new Map<string, CountingTap>();
  readonly #infos = new Map<string, EgressInfo>();
  readonly #listeners: Array<(info: EgressInfo) => void> = [];
  #next = 1;
  closed = false;

  constructor(source: EgressSource) {
    this.source = source;
  }

  async start(req: EgressRequest): Promise<EgressInfo> {
    const participantId = req.participantId ?? this.source.publishers(req.roomId)[0];
    if (participantId === undefined) throw new SfuError('not_found', `room ${req.roomId} has no publisher`);
    const tap = await this.source.tap(req.roomId, participantId);
    const info: EgressInfo = {
      egressId: `EG_${this.#next++}`,
      roomId: req.roomId,
      kind: req.kind,
      participantId: req.participantId,
      state: 'active',
      startedAt: Date.now(),
      endedAt: null,
      reason: null,
      playlist: null,
      files: [],
      moqPath: null,
      nodeId: this.source.nodeId,
      baseUrl: null,
    };
    const counting = new CountingTap(info, tap.tracks, tap.port);
    this.taps.set(info.egressId, counting);
    this.#infos.set(info.egressId, info);
    // The publisher left: the egress ends on its own, as a real one would.
    counting.closed.then(
      () => this.#end(info.egressId, 'participant_left'),
      () => undefined,
    );
    this.#emit(info);
    return { ...info };
  }

  async stop(egressId: string, reason: string): Promise<EgressInfo> {
    const info = this.#infos.get(egressId);
    if (!info) throw new SfuError('not_found', `no egress ${egressId}`);
    this.#end(egressId, reason);
    return { ...info };
  }

  list(roomId?: RoomId): EgressInfo[] {
    return [...this.#infos.values()]
      .filter((i) => roomId === undefined || i.roomId === roomId)
      .map((i) => ({ ...i }));
  }

  onUpdate(listener: (info: EgressInfo) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    for (const id of this.#infos.keys()) this.#end(id, 'shutdown');
    this.closed = true;
  }

  #end(egressId: string, reason: string): void {
    const info = this.#infos.get(egressId);
    if (!info || info.state === 'ended') return;
    info.state = 'ended';
    info.endedAt = Date.now();
    info.reason = reason;
    this.taps.get(egressId)?.close();
    this.#emit(info);
  }

  #emit(info: EgressInfo): void {
    for (const listener of this.#listeners) listener({ ...info });
  }
}

/** A CreateEgress for createSfu; `backends` receives each backend it builds. */
export function countingEgress(backends: CountingEgressBackend[] = []): CreateEgress {
  return async ({ source }) => {
    const backend = new CountingEgressBackend(source);
    backends.push(backend);
    return {
      backend,
      http: {
        handle: (_req, res) => {
          res.statusCode = 404;
          res.end();
        },
        upgrade: () => false,
      },
    };
  };
}

export const TEST_EGRESS_SETTINGS = {
  dataDir: 'unused',
  segmentSeconds: 2,
  partSeconds: 0,
  windowSegments: 3,
  publicUrl: null,
  storage: null,
};
