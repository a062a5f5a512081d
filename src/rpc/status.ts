import { status as GrpcStatus } from '@grpc/grpc-js';
import { SfuError, type SfuErrorCode } from '../lib/errors.ts';

/** The gRPC status an SfuError code travels as (the one mapping from our codes to gRPC). */
export function grpcStatusOf(code: SfuErrorCode): GrpcStatus {
  switch (code) {
    case 'not_found':
      return GrpcStatus.NOT_FOUND;
    case 'invalid_argument':
      return GrpcStatus.INVALID_ARGUMENT;
    case 'invalid_state':
      return GrpcStatus.FAILED_PRECONDITION;
    case 'permission_denied':
      return GrpcStatus.PERMISSION_DENIED;
    case 'unauthenticated':
      return GrpcStatus.UNAUTHENTICATED;
    case 'already_exists':
      return GrpcStatus.ALREADY_EXISTS;
    case 'resource_exhausted':
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 'unsupported':
      return GrpcStatus.UNIMPLEMENTED;
    case 'unavailable':
      return GrpcStatus.UNAVAILABLE;
    case 'internal':
      return GrpcStatus.INTERNAL;
  }
}

/**
 * The SfuError code a gRPC status stands for (the one mapping from gRPC to our codes). A call that
 * could not reach the node or got no answer in time (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED by a
 * closing channel) is `unavailable`: the caller may try another node.
 */
export function sfuErrorCodeOf(code: GrpcStatus): SfuErrorCode {
  switch (code) {
    case GrpcStatus.NOT_FOUND:
      return 'not_found';
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return 'invalid_argument';
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.ABORTED:
      return 'invalid_state';
    case GrpcStatus.PERMISSION_DENIED:
      return 'permission_denied';
    case GrpcStatus.UNAUTHENTICATED:
      return 'unauthenticated';
    case GrpcStatus.ALREADY_EXISTS:
      return 'already_exists';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'resource_exhausted';
    case GrpcStatus.UNIMPLEMENTED:
      return 'unsupported';
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.CANCELLED:
      return 'unavailable';
    default:
      return 'internal';
  }
}

/** What a server handler sends for a thrown error: SfuErrors keep their code, anything else is INTERNAL. */
export function toGrpcError(err: unknown): { code: GrpcStatus; details: string } {
  if (err instanceof SfuError) return { code: grpcStatusOf(err.code), details: err.message };
  return { code: GrpcStatus.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

/** The SfuError a failed call rejects with; `what` names the call and the node for the message. */
export function fromGrpcError(err: unknown, what: string): SfuError {
  if (err instanceof SfuError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code === 'number') {
    const details = typeof e.details === 'string' && e.details ? e.details : String(e.message ?? 'failed');
    const code = sfuErrorCodeOf(e.code as GrpcStatus);
    // Our own server's details are already a full sentence; transport failures get the call named.
    const message = code === 'unavailable' || code === 'internal' ? `${what}: ${details}` : details;
    return new SfuError(code, message, { cause: err });
  }
  return new SfuError('unavailable', `${what}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}
