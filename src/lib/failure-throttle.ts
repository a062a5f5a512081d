/**
 * Failed attempts per key (a user, a room) with exponential backoff: `freeFailures` failures cost
 * nothing, each one after them blocks the key for `baseDelayMs`, then twice that, … up to
 * `maxDelayMs`. While blocked, every attempt is refused, right or wrong. A success resets the key.
 *
 * Lifecycle: entries appear on the first failure and are dropped by `sweep()` (which the owner
 * calls periodically) once a key has been quiet for `forgetAfterMs` and is not blocked. At most
 * `maxKeys` are kept: beyond that the oldest keys are dropped first.
 */
export interface FailureThrottleOptions {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key quiet this long starts again from zero; default 15 minutes. */
  forgetAfterMs?: number;
  /** Default 100,000. */
  maxKeys?: number;
  clock?: { nowMs(): number };
}

interface Entry {
  failures: number;
  blockedUntilMs: number;
  lastFailureMs: number;
}

const DEFAULT_FORGET_AFTER_MS = 15 * 60_000;
const DEFAULT_MAX_KEYS = 100_000;

export class FailureThrottle {
  readonly #options: Required<Omit<FailureThrottleOptions, 'clock'>>;
  readonly #clock: { nowMs(): number };
  readonly #entries = new Map<string, Entry>();

  constructor(options: FailureThrottleOptions) {
    this.#options = {
      forgetAfterMs: DEFAULT_FORGET_AFTER_MS,
      maxKeys: DEFAULT_MAX_KEYS,
      ...options,
    };
    this.#clock = options.clock ?? { nowMs: () => Date.now() };
  }

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfterMs(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.blockedUntilMs - this.#clock.nowMs());
  }

  /** Records a failure; returns the wait it imposes (0 while within the free failures). */
  fail(key: string): number {
    const now = this.#clock.nowMs();
    let entry = this.#entries.get(key);
    if (!entry || now - entry.lastFailureMs > this.#options.forgetAfterMs) {
      entry = { failures: 0, blockedUntilMs: 0, lastFailureMs: now };
    }
    // Re-inserted so that the map's order is the order of last failure (oldest dropped first).
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    entry.failures += 1;
    entry.lastFailureMs = now;
    const over = entry.failures - this.#options.freeFailures;
    if (over > 0) {
      const { baseDelayMs, maxDelayMs } = this.#options;
      const delayMs = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(over - 1, 40));
      entry.blockedUntilMs = now + delayMs;
    }
    this.#trim();
    return Math.max(0, entry.blockedUntilMs - now);
  }

  succeed(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops keys that are quiet and not blocked; returns how many keys remain. */
  sweep(): number {
    const now = this.#clock.nowMs();
    for (const [key, entry] of this.#entries) {
      const quiet = now - entry.lastFailureMs > this.#options.forgetAfterMs;
      if (quiet && entry.blockedUntilMs <= now) this.#entries.delete(key);
    }
    return this.#entries.size;
  }

  get size(): number {
    return this.#entries.size;
  }

  #trim(): void {
    if (this.#entries.size <= this.#options.maxKeys) return;
    this.sweep();
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#options.maxKeys) return;
      this.#entries.delete(key);
    }
  }
}
