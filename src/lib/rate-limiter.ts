/**
 * Token buckets keyed by a string (an IP, a socket id): `ratePerSecond` tokens refill per second up
 * to `burst`. Idle buckets are forgotten by `sweep()`, which the owner calls periodically.
 */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(options: { ratePerSecond: number; burst: number }) {
    this.#ratePerMs = options.ratePerSecond / 1000;
    this.#burst = options.burst;
  }

  /** Takes one token; false when the key is over its rate. */
  take(key: string, nowMs: number = Date.now()): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.#burst, atMs: nowMs };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (nowMs - bucket.atMs) * this.#ratePerMs);
    bucket.atMs = nowMs;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Milliseconds until `key` has a token again; 0 when it has one now. */
  waitMs(key: string, nowMs: number = Date.now()): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.#burst, bucket.tokens + (nowMs - bucket.atMs) * this.#ratePerMs);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.#ratePerMs);
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }

  /** Drops buckets that are full again (nothing to remember); returns how many remain. */
  sweep(nowMs: number = Date.now()): number {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (nowMs - bucket.atMs) * this.#ratePerMs >= this.#burst) this.#buckets.delete(key);
    }
    return this.#buckets.size;
  }
}
