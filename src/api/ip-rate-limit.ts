import type { FastifyRequest } from 'fastify';
import { RateLimiter } from '../lib/rate-limiter.ts';
import { HttpError } from './http-errors.ts';

/** Limits of the routes that create accounts or credentials, per client IP and minute. */
export interface RouteRateLimits {
  /** POST /guest/login (GUEST_LOGIN_PER_MINUTE). */
  guestLoginPerMinute: number;
  /** POST /guest/rooms (GUEST_ROOMS_PER_MINUTE). */
  guestRoomsPerMinute: number;
  /** POST /tokens (TOKEN_MINT_PER_MINUTE). */
  tokenMintPerMinute: number;
}

export const DEFAULT_ROUTE_RATE_LIMITS: RouteRateLimits = {
  guestLoginPerMinute: 10,
  guestRoomsPerMinute: 30,
  tokenMintPerMinute: 600,
};

const SWEEP_EVERY_TAKES = 1000;

/**
 * One route's limit per client IP (the request's IP, from X-Forwarded-For with TRUST_PROXY): a
 * bucket of `perMinute` requests that refills over a minute. Over it, 429 with Retry-After.
 * Idle buckets are swept every thousand requests, so no timer is needed.
 */
export class IpRateLimit {
  readonly #limiter: RateLimiter;
  #takes = 0;

  constructor(perMinute: number) {
    this.#limiter = new RateLimiter({ ratePerSecond: perMinute / 60, burst: perMinute });
  }

  /** Counts the request; throws 429 when its IP is over the limit. */
  check(request: Pick<FastifyRequest, 'ip'>, nowMs: number = Date.now()): void {
    if (++this.#takes % SWEEP_EVERY_TAKES === 0) this.#limiter.sweep(nowMs);
    if (this.#limiter.take(request.ip, nowMs)) return;
    const retryAfterS = Math.max(1, Math.ceil(this.#limiter.waitMs(request.ip, nowMs) / 1000));
    throw new HttpError(429, 'Too many requests: try again later', { retryAfterS });
  }
}
