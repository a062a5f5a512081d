import { setTimeout as sleep } from 'node:timers/promises';

/** How often and how patiently a storage request is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included (4: one try and three retries). */
  tries: number;
  /** Delay before the first retry; doubled for each next one, with ±25 % jitter. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { tries: 4, baseDelayMs: 250 };

/** Socket-level failures worth another try: the bucket may come back. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** HTTP status of an SDK error, or undefined when no response came back. */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** Network errors, timeouts, 5xx and 429 are retried; other 4xx (credentials, no bucket) are not. */
export function isRetryableStorageError(err: unknown): boolean {
  const e = err as SdkErrorShape | null;
  if (!e || typeof e !== 'object') return false;
  if (e.$retryable) return true;
  const status = httpStatusOf(err);
  if (status !== undefined) return status >= 500 || status === 429;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  return e.name === 'TimeoutError' || e.name === 'RequestTimeout';
}

/** The last error of a request that failed for good, with the number of attempts made. */
export class StorageRequestFailed extends Error {
  readonly tries: number;

  constructor(cause: unknown, tries: number) {
    super(`${describeStorageError(cause)} (${tries} ${tries === 1 ? 'try' : 'tries'})`, { cause });
    this.name = 'StorageRequestFailed';
    this.tries = tries;
  }
}

/** A short reason naming the cause, for logs and the egress's end reason (never credentials). */
export function describeStorageError(err: unknown): string {
  if (err instanceof StorageRequestFailed) return err.message;
  const e = err as (SdkErrorShape & { message?: string }) | null;
  const status = httpStatusOf(err);
  const label = e?.code ?? e?.name ?? 'Error';
  const detail = status === undefined ? (e?.message ?? String(err)) : `HTTP ${status}`;
  return label === detail ? label : `${label}: ${detail}`;
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error comes, or `policy.tries` attempts failed;
 * then throws a StorageRequestFailed wrapping the last error. `attempt` gets the 1-based attempt number.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry: (err: unknown, n: number, delayMs: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= policy.tries || !isRetryableStorageError(err)) throw new StorageRequestFailed(err, n);
      const delayMs = Math.round(policy.baseDelayMs * 2 ** (n - 1) * (0.75 + Math.random() * 0.5));
      onRetry(err, n, delayMs);
      await sleep(delayMs);
    }
  }
}
