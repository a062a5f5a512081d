import { type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import type { MethodDefinition } from '@grpc/grpc-js';
import { SfuService } from '../protocol/generated/sfu/v1/sfu_pb.js';

/** The service's methods by their local name (`join`, `events`, …), as generated from sfu.proto. */
export type SfuMethods = typeof SfuService.method;
export type SfuMethodName = keyof SfuMethods;
export type RequestOf<K extends SfuMethodName> = MessageShape<SfuMethods[K]['input']>;
export type ResponseOf<K extends SfuMethodName> = MessageShape<SfuMethods[K]['output']>;

/**
 * A request that did not decode. The server's deserializer returns it instead of throwing, so the
 * handler answers INVALID_ARGUMENT (grpc-js would answer INTERNAL for a throwing deserializer).
 */
export const MALFORMED = Symbol('malformed message');
export type Malformed = typeof MALFORMED;

export type SfuMethodDefinition<K extends SfuMethodName> = MethodDefinition<
  RequestOf<K>,
  ResponseOf<K> | Malformed
> & {
  requestDeserialize: (bytes: Buffer) => RequestOf<K> | Malformed;
};

function serializer<D extends DescMessage>(schema: D) {
  return (message: MessageShape<D>): Buffer => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function tolerantDeserializer<D extends DescMessage>(schema: D) {
  return (bytes: Buffer): MessageShape<D> | Malformed => {
    try {
      return fromBinary(schema, bytes);
    } catch {
      return MALFORMED;
    }
  };
}

function definition<K extends SfuMethodName>(name: K): SfuMethodDefinition<K> {
  const method = SfuService.method[name];
  return {
    path: `/${SfuService.typeName}/${method.name}`,
    requestStream: false,
    responseStream: method.methodKind === 'server_streaming',
    originalName: name,
    requestSerialize: serializer(method.input),
    requestDeserialize: tolerantDeserializer(method.input) as (bytes: Buffer) => RequestOf<K> | Malformed,
    responseSerialize: serializer(method.output) as (m: ResponseOf<K> | Malformed) => Buffer,
    responseDeserialize: tolerantDeserializer(method.output) as (bytes: Buffer) => ResponseOf<K> | Malformed,
  } as SfuMethodDefinition<K>;
}

/** grpc-js service definition of bbmeet.sfu.v1.SfuService: every method, (de)serialised by protobuf-es. */
export const sfuServiceDefinition = Object.fromEntries(
  (Object.keys(SfuService.method) as SfuMethodName[]).map((name) => [name, definition(name)]),
) as { [K in SfuMethodName]: SfuMethodDefinition<K> };
