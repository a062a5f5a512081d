import { egressDisabled, SfuError } from '../lib/errors.ts';
import type { RoomId } from '../lib/ids.ts';
import type { EgressInfo, EgressRequest, EgressStopRequest } from '../protocol/egress.ts';
import type {
  JoinRequest,
  JoinResponse,
  MediaStateRequest,
  ParticipantRef,
  PublisherCandidateRequest,
  PublisherOfferRequest,
  RoomInspection,
  SfuApi,
  SfuDump,
  SfuEvent,
  SubscribeRequest,
  SubscribeResponse,
  SubscriberAnswerRequest,
  SubscriberAnswerResponse,
  SubscriberCandidateRequest,
} from '../protocol/sfu-api.ts';
import type { EgressBackend } from './egress-backend.ts';
import type { SfuEgressSource } from './egress-source.ts';
import type { RoomPart } from './media/room-inspection.ts';
import type { MediaWorkerPool } from './media-worker-pool.ts';
import { assembleInspection } from './room-inspection.ts';
import type { WorkerOperation } from './worker-protocol.ts';

/**
 * The SFU's control side: implements SfuApi by running each operation on the media worker that
 * hosts the room, and fans room events out to whoever listens (signalling's room pumps).
 * Egress operations go to the backend given to attachEgress() (createSfu's `egress` option);
 * without one they answer 'unsupported'.
 */
export class Sfu implements SfuApi {
  readonly #pool: MediaWorkerPool;
  readonly #listeners = new Map<RoomId, Set<(event: SfuEvent) => void>>();
  #egress: { backend: EgressBackend; source: SfuEgressSource } | null = null;

  constructor(pool: MediaWorkerPool) {
    this.#pool = pool;
  }

  /** Give this to the pool as its `onEvent`. */
  readonly dispatchEvent = (roomId: RoomId, event: SfuEvent): void => {
    if (event.type === 'participantLost' || event.type === 'viewerEnded')
      this.#pool.participantLeft(roomId, event.participantId);
    this.#egress?.source.observe(roomId, event);
    this.#emitRoom(roomId, event);
  };

  async join(req: JoinRequest): Promise<JoinResponse> {
    const res = (await this.#call(req.roomId, 'join', req)) as JoinResponse;
    this.#pool.participantJoined(req.roomId, req.participantId);
    return res;
  }

  subscribe(req: SubscribeRequest): Promise<SubscribeResponse> {
    return this.#call(req.roomId, 'subscribe', req) as Promise<SubscribeResponse>;
  }

  setSubscriberAnswer(req: SubscriberAnswerRequest): Promise<SubscriberAnswerResponse> {
    return this.#call(req.roomId, 'setSubscriberAnswer', req) as Promise<SubscriberAnswerResponse>;
  }

  renegotiatePublisher(req: PublisherOfferRequest): Promise<{ sdp: string }> {
    return this.#call(req.roomId, 'renegotiatePublisher', req) as Promise<{ sdp: string }>;
  }

  async addPublisherCandidate(req: PublisherCandidateRequest): Promise<void> {
    await this.#call(req.roomId, 'addPublisherCandidate', req);
  }

  async addSubscriberCandidate(req: SubscriberCandidateRequest): Promise<void> {
    await this.#call(req.roomId, 'addSubscriberCandidate', req);
  }

  async setMediaState(req: MediaStateRequest): Promise<void> {
    await this.#call(req.roomId, 'setMediaState', req);
  }

  async leave(req: ParticipantRef): Promise<void> {
    try {
      await this.#call(req.roomId, 'leave', req);
    } finally {
      this.#pool.participantLeft(req.roomId, req.participantId);
      this.#egress?.source.left(req.roomId, req.participantId);
    }
  }

  async *events(roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent> {
    const queue: SfuEvent[] = [];
    let wake: (() => void) | null = null;
    const listener = (event: SfuEvent) => {
      queue.push(event);
      wake?.();
    };
    let set = this.#listeners.get(roomId);
    if (!set) {
      set = new Set();
      this.#listeners.set(roomId, set);
    }
    set.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const event = queue.shift();
        if (event) {
          yield event;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(roomId);
    }
  }

  async dump(): Promise<SfuDump> {
    const dump = await this.#pool.dump();
    if (!this.#egress) return dump;
    const { backend } = this.#egress;
    dump.egress = backend.list().filter((e) => !isFinal(e));
    const stats = backend.stats?.();
    if (stats) dump.egressStats = stats;
    return dump;
  }

  /**
   * Gives the SFU its egress backend (built on `source`, which the SFU feeds with its rooms'
   * events from now on): egress operations go to it, its updates become `egressUpdated` events.
   */
  attachEgress(backend: EgressBackend, source: SfuEgressSource): void {
    if (this.#egress) throw new SfuError('invalid_state', 'the SFU already has an egress backend');
    this.#egress = { backend, source };
    backend.onUpdate((egress) => this.#emitRoom(egress.roomId, { type: 'egressUpdated', egress }));
  }

  /** Ends every egress (recordings finalised); the SFU answers 'unsupported' afterwards. */
  async closeEgress(): Promise<void> {
    const egress = this.#egress;
    this.#egress = null;
    await egress?.backend.close();
  }

  startEgress(req: EgressRequest): Promise<EgressInfo> {
    if (!this.#egress) return Promise.reject(egressDisabled());
    return this.#egress.backend.start(req);
  }

  async stopEgress(req: EgressStopRequest): Promise<EgressInfo> {
    if (!this.#egress) throw egressDisabled();
    // An egress of another room is not this room's to stop (the caller is authorised per room).
    if (!this.#egress.backend.list(req.roomId).some((e) => e.egressId === req.egressId))
      throw new SfuError('not_found', `no egress ${req.egressId} in room ${req.roomId}`);
    return this.#egress.backend.stop(req.egressId, 'stopped');
  }

  listEgress(roomId: RoomId): Promise<EgressInfo[]> {
    if (!this.#egress) return Promise.reject(egressDisabled());
    return Promise.resolve(this.#egress.backend.list(roomId));
  }

  async inspectRoom(roomId: RoomId): Promise<RoomInspection> {
    const parts = (await this.#pool.requestAll('inspectRoom', { roomId })) as RoomPart[];
    return assembleInspection(roomId, '', parts);
  }

  #emitRoom(roomId: RoomId, event: SfuEvent): void {
    for (const listener of this.#listeners.get(roomId) ?? []) listener(event);
  }

  #call(roomId: RoomId, op: WorkerOperation, args: unknown): Promise<unknown> {
    return this.#pool.request(roomId, op, args);
  }
}

function isFinal(egress: EgressInfo): boolean {
  return egress.state === 'ended' || egress.state === 'failed';
}
