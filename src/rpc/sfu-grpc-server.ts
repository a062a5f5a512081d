import { create } from '@bufbuild/protobuf';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { SfuError } from '../lib/errors.ts';
import { type Logger, silentLogger } from '../lib/logger.ts';
import * as pb from '../protocol/generated/sfu/v1/sfu_pb.js';
import type { SfuApi } from '../protocol/sfu-api.ts';
import * as convert from './convert.ts';
import { egressInfoToProto, egressRequestFromProto, egressStopFromProto } from './convert-egress.ts';
import { inspectionToProto } from './convert-inspection.ts';
import {
  MALFORMED,
  type Malformed,
  type RequestOf,
  type ResponseOf,
  type SfuMethodName,
  sfuServiceDefinition,
} from './service.ts';
import { toGrpcError } from './status.ts';

export interface SfuGrpcServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  logger?: Logger;
  /** Node id announced in each event stream's `opened` message. */
  nodeId?: string;
  /** How long `close()` lets calls in flight finish before cutting connections (default 2 s). */
  shutdownGraceMs?: number;
}

export interface SfuGrpcServer {
  port: number;
  close(): Promise<void>;
}

/** Events queued for a caller that does not read them; past this its stream is ended. */
const MAX_UNSENT_EVENTS = 4096;

/** Channel arguments shared with the client: keepalive pings detect a vanished peer. */
export const SERVER_CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  // Clients ping every 10 s while calls are open; allow that.
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 1024 * 1024,
} as const;

/**
 * Serves `sfu` (any SfuApi: the in-process Sfu, or anything else) as bbmeet.sfu.v1.SfuService on
 * host:port. Every request is validated before it reaches `sfu`; bad input is answered with
 * INVALID_ARGUMENT naming the field, SfuErrors with their status (status.ts), anything else INTERNAL.
 */
export async function startSfuGrpcServer(sfu: SfuApi, options: SfuGrpcServerOptions): Promise<SfuGrpcServer> {
  const logger = options.logger ?? silentLogger();
  const nodeId = options.nodeId ?? '';
  const streams = new Set<AbortController>();
  let closing: Promise<void> | null = null;
  const server = new Server(SERVER_CHANNEL_OPTIONS);

  /** A unary handler: decode check, convert (validates), run, encode; every failure becomes a status. */
  function unary<K extends SfuMethodName>(name: K, run: (request: RequestOf<K>) => Promise<ResponseOf<K>>) {
    return (
      call: ServerUnaryCall<RequestOf<K> | Malformed, ResponseOf<K>>,
      callback: sendUnaryData<ResponseOf<K>>,
    ) => {
      const request = call.request;
      const result =
        request === MALFORMED
          ? Promise.reject(
              new SfuError('invalid_argument', `${name}: the request is not a valid protobuf message`),
            )
          : run(request);
      result.then(
        (response) => callback(null, response),
        (err: unknown) => {
          const status = toGrpcError(err);
          if (!(err instanceof SfuError)) logger.error({ err, method: name }, 'sfu call failed unexpectedly');
          else logger.debug({ method: name, code: err.code, message: err.message }, 'sfu call refused');
          callback(status);
        },
      );
    };
  }

  const events = (call: ServerWritableStream<RequestOf<'events'> | Malformed, ResponseOf<'events'>>) => {
    const fail = (err: unknown) => {
      if (!call.cancelled && !call.destroyed && !call.writableEnded) call.emit('error', toGrpcError(err));
    };
    const request = call.request;
    if (request === MALFORMED) {
      fail(new SfuError('invalid_argument', 'events: the request is not a valid protobuf message'));
      return;
    }
    let roomId: ReturnType<typeof convert.roomIdFromProto>;
    try {
      roomId = convert.roomIdFromProto(request);
    } catch (err) {
      fail(err);
      return;
    }
    const abort = new AbortController();
    streams.add(abort);
    const stop = () => abort.abort();
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    void (async () => {
      const iterator = sfu.events(roomId, abort.signal)[Symbol.asyncIterator]();
      // Starts the iteration, which attaches the listener, before saying the stream is open.
      let next = iterator.next();
      let finished = false;
      call.write(create(pb.EventsResponseSchema, { event: { case: 'opened', value: { nodeId } } }));
      try {
        for (;;) {
          const step = await next;
          if (step.done) {
            finished = true;
            break;
          }
          if (call.cancelled || call.destroyed) break;
          if (call.writableLength >= MAX_UNSENT_EVENTS) {
            throw new SfuError(
              'resource_exhausted',
              `events of room ${roomId}: the caller left ${MAX_UNSENT_EVENTS} events unread`,
            );
          }
          call.write(convert.eventToProto(step.value));
          next = iterator.next();
        }
      } finally {
        abort.abort();
        // Detaches the listener of an iteration left before its end; its errors no longer matter.
        if (!finished) iterator.return?.().catch(() => undefined);
      }
    })().then(
      () => {
        streams.delete(abort);
        if (call.cancelled || call.destroyed) return;
        if (closing) fail(new SfuError('unavailable', 'the SFU node is shutting down'));
        // The SfuApi ended the room's events by itself: the caller must not take that for "no more events".
        else fail(new SfuError('unavailable', `events of room ${roomId} ended`));
      },
      (err: unknown) => {
        streams.delete(abort);
        if (!(err instanceof SfuError)) logger.error({ err, roomId }, 'sfu event stream failed');
        else logger.warn({ roomId, code: err.code, message: err.message }, 'sfu event stream ended');
        fail(err);
      },
    );
  };

  const implementation = {
    join: unary('join', async (m) => create(pb.JoinResponseSchema, await sfu.join(convert.joinFromProto(m)))),
    subscribe: unary('subscribe', async (m) =>
      create(pb.SubscribeResponseSchema, await sfu.subscribe(convert.subscribeFromProto(m))),
    ),
    setSubscriberAnswer: unary('setSubscriberAnswer', async (m) => {
      const res = await sfu.setSubscriberAnswer(convert.subscriberAnswerFromProto(m));
      return create(pb.SetSubscriberAnswerResponseSchema, { refusedTracks: res.refusedTracks });
    }),
    renegotiatePublisher: unary('renegotiatePublisher', async (m) =>
      create(
        pb.RenegotiatePublisherResponseSchema,
        await sfu.renegotiatePublisher(convert.publisherOfferFromProto(m)),
      ),
    ),
    addPublisherCandidate: unary('addPublisherCandidate', async (m) => {
      await sfu.addPublisherCandidate(convert.publisherCandidateFromProto(m));
      return create(pb.AddPublisherCandidateResponseSchema);
    }),
    addSubscriberCandidate: unary('addSubscriberCandidate', async (m) => {
      await sfu.addSubscriberCandidate(convert.subscriberCandidateFromProto(m));
      return create(pb.AddSubscriberCandidateResponseSchema);
    }),
    setMediaState: unary('setMediaState', async (m) => {
      await sfu.setMediaState(convert.mediaStateRequestFromProto(m));
      return create(pb.SetMediaStateResponseSchema);
    }),
    leave: unary('leave', async (m) => {
      await sfu.leave(convert.leaveFromProto(m));
      return create(pb.LeaveResponseSchema);
    }),
    dump: unary('dump', async () => convert.dumpToProto(await sfu.dump())),
    ping: unary('ping', async () => create(pb.PingResponseSchema, { timeMs: BigInt(Date.now()) })),
    startEgress: unary('startEgress', async (m) =>
      create(pb.StartEgressResponseSchema, {
        egress: egressInfoToProto(await sfu.startEgress(egressRequestFromProto(m))),
      }),
    ),
    stopEgress: unary('stopEgress', async (m) =>
      create(pb.StopEgressResponseSchema, {
        egress: egressInfoToProto(await sfu.stopEgress(egressStopFromProto(m))),
      }),
    ),
    listEgress: unary('listEgress', async (m) =>
      create(pb.ListEgressResponseSchema, {
        egresses: (await sfu.listEgress(convert.roomIdFromProto(m))).map(egressInfoToProto),
      }),
    ),
    inspectRoom: unary('inspectRoom', async (m) =>
      inspectionToProto(await sfu.inspectRoom(convert.roomIdFromProto(m))),
    ),
    events,
  };
  server.addService(sfuServiceDefinition, implementation as unknown as UntypedServiceImplementation);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${bracketed(options.host)}:${options.port}`,
      ServerCredentials.createInsecure(),
      (err, bound) =>
        err
          ? reject(
              new Error(`SFU gRPC server cannot listen on ${options.host}:${options.port}: ${err.message}`),
            )
          : resolve(bound),
    );
  });
  logger.info({ host: options.host, port }, 'SFU gRPC server listening');

  return {
    port,
    close() {
      closing ??= (async () => {
        // Event streams never finish on their own: end them (clients see UNAVAILABLE), then let unary calls finish.
        for (const stream of streams) stream.abort();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, options.shutdownGraceMs ?? 2_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
