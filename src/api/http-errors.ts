import type { FastifyError } from 'fastify';
import { z } from 'zod';
import { isSfuError, type SfuErrorCode } from '../lib/errors.ts';

/** An error with an HTTP status chosen by the route. The body is Waterbus' `{ message }`. */
export class HttpError extends Error {
  readonly status: number;
  /** Sent as the `Retry-After` header (429 answers). */
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

/** Maps any error to the status and message the client sees; unknown errors become a bare 500. */
export function toHttpError(err: unknown): { status: number; message: string; expected: boolean } {
  if (err instanceof HttpError) return { status: err.status, message: err.message, expected: true };
  if (isSfuError(err))
    return { status: STATUS_BY_CODE[err.code], message: err.message, expected: err.code !== 'internal' };
  if (err instanceof z.ZodError) return { status: 400, message: describeZodError(err), expected: true };
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, message: fe.message ?? 'Bad request', expected: true };
  }
  return { status: 500, message: 'Internal server error', expected: false };
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
