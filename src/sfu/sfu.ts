import { egressDisabled } from '../lib/errors.ts';
import type { RoomId } from '../lib/ids.ts';
import type { EgressInfo, EgressRequest, EgressStopRequest } from '../protocol/egress.ts';
import type {
  JoinRequest,
  JoinResponse,
  MediaStateRequest,
  ParticipantRef,
  PublisherCandidateRequest,
  PublisherOfferRequest,
  SfuApi,
  SfuDump,
  SfuEvent,
  SubscribeRequest,
  SubscribeResponse,
  SubscriberAnswerRequest,
  SubscriberCandidateRequest,
} from '../protocol/sfu-api.ts';
import type { MediaWorkerPool } from './media-worker-pool.ts';
import type { WorkerOperation } from './worker-protocol.ts';

/**
 * The SFU's control side: implements SfuApi by running each operation on the media worker that
 * hosts the room, and fans room events out to whoever listens (signalling's room pumps).
 */
export class Sfu implements SfuApi {
  readonly #pool: MediaWorkerPool;
  readonly #listeners = new Map<RoomId, Set<(event: SfuEvent) => void>>();

  constructor(pool: MediaWorkerPool) {
    this.#pool = pool;
  }

  /** Give this to the pool as its `onEvent`. */
  readonly dispatchEvent = (roomId: RoomId, event: SfuEvent): void => {
    if (event.type === 'participantLost') this.#pool.participantLeft(roomId, event.participantId);
    for (const listener of this.#listeners.get(roomId) ?? []) listener(event);
  };

  async join(req: JoinRequest): Promise<JoinResponse> {
    const res = (await this.#call(req.roomId, 'join', req)) as JoinResponse;
    this.#pool.participantJoined(req.roomId, req.participantId);
    return res;
  }

  subscribe(req: SubscribeRequest): Promise<SubscribeResponse> {
    return this.#call(req.roomId, 'subscribe', req) as Promise<SubscribeResponse>;
  }

  async setSubscriberAnswer(req: SubscriberAnswerRequest): Promise<void> {
    await this.#call(req.roomId, 'setSubscriberAnswer', req);
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

  dump(): Promise<SfuDump> {
    return this.#pool.dump();
  }

  startEgress(_req: EgressRequest): Promise<EgressInfo> {
    return Promise.reject(egressDisabled());
  }

  stopEgress(_req: EgressStopRequest): Promise<EgressInfo> {
    return Promise.reject(egressDisabled());
  }

  listEgress(_roomId: RoomId): Promise<EgressInfo[]> {
    return Promise.reject(egressDisabled());
  }

  #call(roomId: RoomId, op: WorkerOperation, args: unknown): Promise<unknown> {
    return this.#pool.request(roomId, op, args);
  }
}
