import type { FastifyError } from 'fastify';
import { z } from 'zod';
import { isSfuError, type SfuErrorCode } from '../lib/errors.ts';
import { isStoreUnavailable, STORE_RETRY_AFTER_S, type StoreUnavailableError } from '../store/index.ts';

/** An error with an HTTP status chosen by the route. The body is Waterbus' `{ message }`. */
export class HttpError extends Error {
  readonly status: number;
  /** Sent as the `Retry-After` header (429 and 503 answers). */
  readonly retryAfterS: number | undefined;

  constructor(status: number, message: string, options: { retryAfterS?: number } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.retryAfterS = options.retryAfterS;
  }
}

const STATUS_BY_CODE: Record<SfuErrorCode, number> = {
  not_found: 404,
  invalid_argument: 400,
  invalid_state: 409,
  permission_denied: 403,
  unauthenticated: 401,
  already_exists: 409,
  resource_exhausted: 429,
  unsupported: 501,
  unavailable: 503,
  internal: 500,
};

/** What the client is sent for an error: status, `{ message }` and maybe `Retry-After`. */
export interface HttpErrorReply {
  status: number;
  message: string;
  /** False for a bug (logged at error); true for an answer the client caused or may retry. */
  expected: boolean;
  retryAfterS?: number | undefined;
}

/** Maps any error to the status and message the client sees; unknown errors become a bare 500. */
export function toHttpError(err: unknown): HttpErrorReply {
  if (err instanceof HttpError)
    return { status: err.status, message: err.message, expected: true, retryAfterS: err.retryAfterS };
  if (isStoreUnavailable(err)) return storeUnavailableReply(err);
  if (isSfuError(err))
    return { status: STATUS_BY_CODE[err.code], message: err.message, expected: err.code !== 'internal' };
  if (err instanceof z.ZodError) return { status: 400, message: describeZodError(err), expected: true };
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, message: fe.message ?? 'Bad request', expected: true };
  }
  return { status: 500, message: 'Internal server error', expected: false };
}

/**
 * The database is out of service: 503 with `Retry-After` while it may come back by itself (a
 * restart, a failover, a locked file), 507 Insufficient Storage for a full disk (RFC 4918 §11.5:
 * the server "is unable to store the representation needed to complete the request"), which
 * lasts until an operator frees space, so no retry time is promised.
 */
function storeUnavailableReply(err: StoreUnavailableError): HttpErrorReply {
  if (err.failure === 'storage_full') return { status: 507, message: err.message, expected: true };
  return { status: 503, message: err.message, expected: true, retryAfterS: STORE_RETRY_AFTER_S };
}

/** `body.title: Invalid input: expected string, received undefined` — names each failing field. */
export function describeZodError(err: z.ZodError, prefix?: string): string {
  return err.issues
    .slice(0, 5)
    .map((issue) => {
      const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
