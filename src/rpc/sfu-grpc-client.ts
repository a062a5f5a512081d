import { create } from '@bufbuild/protobuf';
import {
  Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { SfuError } from '../lib/errors.ts';
import type { RoomId } from '../lib/ids.ts';
import { type Logger, silentLogger } from '../lib/logger.ts';
import type { EgressInfo, EgressRequest, EgressStopRequest } from '../protocol/egress.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
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
import * as convert from './convert.ts';
import { egressInfoFromProto, egressRequestToProto, egressStopToProto } from './convert-egress.ts';
import { inspectionFromProto } from './convert-inspection.ts';
import {
  MALFORMED,
  type Malformed,
  type RequestOf,
  type ResponseOf,
  type SfuMethodName,
  sfuServiceDefinition,
} from './service.ts';
import { fromGrpcError } from './status.ts';

export interface SfuGrpcClientOptions {
  /** Deadline of each unary call (default 10 s); a node that does not answer in time is `unavailable`. */
  deadlineMs?: number;
  logger?: Logger;
}

/** Received events not yet taken by the consumer before the stream is paused. */
const PAUSE_AT_EVENTS = 256;

const CLIENT_CHANNEL_OPTIONS = {
  // A node that vanished without closing its connections (power cut, partition) is noticed within ~15 s.
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 0,
  // Reconnect quickly after a node restarts.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // A dump of a busy node lists every room: allow more than a request needs.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
} as const;

/**
 * SfuApi over gRPC to one SFU node (`host:port`). Failures reject with SfuError: the node's own
 * errors keep their code; a node that cannot be reached, went away or did not answer within the
 * deadline gives `unavailable`. `events()` ends when its signal aborts and throws `unavailable`
 * when the stream breaks for any other reason, so a caller notices a dead node at once.
 */
export class SfuGrpcClient implements SfuApi {
  readonly address: string;
  readonly #client: Client;
  readonly #deadlineMs: number;
  readonly #logger: Logger;
  #closed = false;
  /** Calls in flight: a closing channel lets them run on, so close() cancels them. */
  readonly #calls = new Set<{ cancel(): void }>();

  constructor(address: string, options: SfuGrpcClientOptions = {}) {
    this.address = address;
    this.#deadlineMs = options.deadlineMs ?? 10_000;
    this.#logger = options.logger ?? silentLogger();
    this.#client = new Client(address, credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    const res = await this.#unary('join', convert.joinToProto(req));
    return { sdp: res.sdp, isRecording: res.isRecording };
  }

  async subscribe(req: SubscribeRequest): Promise<SubscribeResponse> {
    const res = await this.#unary('subscribe', convert.subscribeToProto(req));
    return { offer: res.offer, videoCodec: res.videoCodec, ...(res.answer ? { answer: res.answer } : {}) };
  }

  async setSubscriberAnswer(req: SubscriberAnswerRequest): Promise<SubscriberAnswerResponse> {
    const res = await this.#unary(
      'setSubscriberAnswer',
      create(pb.SetSubscriberAnswerRequestSchema, {
        roomId: req.roomId,
        participantId: req.participantId,
        targetId: req.targetId,
        sdp: req.sdp,
      }),
    );
    return convert.subscriberAnswerResponseFromProto(res);
  }

  async renegotiatePublisher(req: PublisherOfferRequest): Promise<{ sdp: string }> {
    const res = await this.#unary(
      'renegotiatePublisher',
      create(pb.RenegotiatePublisherRequestSchema, {
        roomId: req.roomId,
        participantId: req.participantId,
        sdp: req.sdp,
      }),
    );
    return { sdp: res.sdp };
  }

  async addPublisherCandidate(req: PublisherCandidateRequest): Promise<void> {
    await this.#unary(
      'addPublisherCandidate',
      create(pb.AddPublisherCandidateRequestSchema, {
        roomId: req.roomId,
        participantId: req.participantId,
        candidate: convert.candidateToProto(req.candidate),
      }),
    );
  }

  async addSubscriberCandidate(req: SubscriberCandidateRequest): Promise<void> {
    await this.#unary(
      'addSubscriberCandidate',
      create(pb.AddSubscriberCandidateRequestSchema, {
        roomId: req.roomId,
        participantId: req.participantId,
        targetId: req.targetId,
        candidate: convert.candidateToProto(req.candidate),
      }),
    );
  }

  async startEgress(req: EgressRequest): Promise<EgressInfo> {
    const res = await this.#unary('startEgress', egressRequestToProto(req));
    return egressOf(res.egress, 'startEgress');
  }

  async stopEgress(req: EgressStopRequest): Promise<EgressInfo> {
    const res = await this.#unary('stopEgress', egressStopToProto(req));
    return egressOf(res.egress, 'stopEgress');
  }

  async listEgress(roomId: RoomId): Promise<EgressInfo[]> {
    const res = await this.#unary('listEgress', create(pb.ListEgressRequestSchema, { roomId }));
    return res.egresses.map(egressInfoFromProto);
  }

  async inspectRoom(roomId: RoomId): Promise<RoomInspection> {
    const res = await this.#unary('inspectRoom', create(pb.InspectRoomRequestSchema, { roomId }));
    return inspectionFromProto(res);
  }

  async setMediaState(req: MediaStateRequest): Promise<void> {
    await this.#unary('setMediaState', convert.mediaStateRequestToProto(req));
  }

  async leave(req: ParticipantRef): Promise<void> {
    await this.#unary(
      'leave',
      create(pb.LeaveRequestSchema, { roomId: req.roomId, participantId: req.participantId }),
    );
  }

  async dump(): Promise<SfuDump> {
    return convert.dumpFromProto(await this.#unary('dump', create(pb.DumpRequestSchema)));
  }

  /** Round trip to the node (no media touched); resolves with the node's clock, rejects `unavailable`. */
  async ping(): Promise<{ nodeTimeMs: number }> {
    const res = await this.#unary('ping', create(pb.PingRequestSchema));
    return { nodeTimeMs: Number(res.timeMs) };
  }

  events(roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent> {
    return { [Symbol.asyncIterator]: () => this.#eventIterator(roomId, signal) };
  }

  /** Closes the channel: calls in flight and later fail with `unavailable`, event iterations throw. */
  close(): void {
    this.#closed = true;
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    this.#client.close();
  }

  async *#eventIterator(roomId: RoomId, signal: AbortSignal): AsyncGenerator<SfuEvent> {
    if (signal.aborted) return;
    const what = `events of room ${roomId} from ${this.address}`;
    if (this.#closed) throw new SfuError('unavailable', `${what}: the client is closed`);
    const definition = sfuServiceDefinition.events;
    let call: ClientReadableStream<ResponseOf<'events'> | Malformed>;
    try {
      call = this.#client.makeServerStreamRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        create(pb.EventsRequestSchema, { roomId }),
        new Metadata(),
        {},
      );
    } catch (err) {
      throw fromGrpcError(err, what);
    }
    this.#calls.add(call);
    const queue: SfuEvent[] = [];
    let failure: SfuError | null = null;
    let ended = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    call.on('data', (message: ResponseOf<'events'> | Malformed) => {
      if (message === MALFORMED) {
        this.#logger.warn(
          { roomId, node: this.address },
          'sfu event is not a valid protobuf message; skipped',
        );
        return;
      }
      try {
        const event = convert.eventFromProto(message);
        if (event) queue.push(event);
        // A consumer that falls behind stops the reading; HTTP/2 flow control then holds the node.
        if (queue.length >= PAUSE_AT_EVENTS) call.pause();
      } catch (err) {
        this.#logger.warn({ err, roomId, node: this.address }, 'sfu event breaks the contract; skipped');
        return;
      }
      notify();
    });
    call.on('error', (err: ServiceError) => {
      if (!signal.aborted) failure = fromGrpcError(err, what);
      ended = true;
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    const onAbort = () => {
      call.cancel();
      notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return;
        const event = queue.shift();
        if (event) {
          if (queue.length === 0 && call.isPaused()) call.resume();
          yield event;
          continue;
        }
        if (ended) {
          if (signal.aborted) return;
          // A stream only ends when we cancel it: any other end means the node went away.
          throw failure ?? new SfuError('unavailable', `${what}: the stream ended`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#calls.delete(call);
      if (!ended) call.cancel();
    }
  }

  #unary<K extends Exclude<SfuMethodName, 'events'>>(name: K, request: RequestOf<K>): Promise<ResponseOf<K>> {
    const what = `${name} on ${this.address}`;
    if (this.#closed) return Promise.reject(new SfuError('unavailable', `${what}: the client is closed`));
    const definition = sfuServiceDefinition[name];
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      let call: ClientUnaryCall | undefined;
      let settled = false;
      try {
        call = this.#client.makeUnaryRequest(
          definition.path,
          definition.requestSerialize as (m: RequestOf<K>) => Buffer,
          definition.responseDeserialize as (b: Buffer) => ResponseOf<K> | Malformed,
          request,
          new Metadata(),
          { deadline: Date.now() + this.#deadlineMs },
          (err, response) => {
            settled = true;
            if (call) this.#calls.delete(call);
            if (err) {
              const error =
                err.code === status.DEADLINE_EXCEEDED
                  ? new SfuError('unavailable', `${what}: no answer within ${this.#deadlineMs} ms`, {
                      cause: err,
                    })
                  : fromGrpcError(err, what);
              reject(error);
            } else if (response === undefined || response === MALFORMED) {
              reject(new SfuError('internal', `${what}: the answer is not a valid protobuf message`));
            } else resolve(response);
          },
        );
        if (!settled) this.#calls.add(call);
      } catch (err) {
        // grpc-js throws synchronously on a closed channel.
        reject(fromGrpcError(err, what));
      }
    });
  }
}

/** The egress a node answered with; a node that answers without one breaks the contract. */
function egressOf(egress: pb.EgressInfo | undefined, method: string): EgressInfo {
  if (!egress) throw new SfuError('internal', `${method}: the node answered without an egress`);
  return egressInfoFromProto(egress);
}
