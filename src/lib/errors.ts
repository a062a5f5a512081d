/** Error codes shared by every edge; each edge maps them once (socket ack, HTTP status, gRPC status). */
export type SfuErrorCode =
  | 'not_found'
  | 'invalid_argument'
  | 'invalid_state'
  | 'permission_denied'
  | 'unauthenticated'
  | 'already_exists'
  | 'resource_exhausted'
  | 'unsupported'
  | 'unavailable'
  | 'internal';

export class SfuError extends Error {
  readonly code: SfuErrorCode;

  constructor(code: SfuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SfuError';
    this.code = code;
  }
}

export function isSfuError(err: unknown): err is SfuError {
  return err instanceof SfuError;
}

/** The answer of an SfuApi whose server runs without egress (EGRESS_ENABLED unset). */
export function egressDisabled(): SfuError {
  return new SfuError(
    'unsupported',
    'egress is not enabled on this server (EGRESS_ENABLED=true turns it on)',
  );
}
