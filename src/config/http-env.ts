import { z } from 'zod';
import type { RouteRateLimits } from '../api/ip-rate-limit.ts';
import { bool, port, positiveInt, seconds } from './env-types.ts';

/** The HTTP server's variables: address, CORS, body and rate limits, timeouts, guest login. */
export const httpEnv = {
  APP_PORT: port.default(5998),
  APP_HOST: z.string().min(1).default('0.0.0.0'),
  CORS_ORIGINS: z.string().default(''),
  HTTP_RATE_LIMIT_PER_SECOND: positiveInt.default(200),
  HTTP_BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  HTTP_REQUEST_TIMEOUT_SECONDS: seconds(3600).default(30),
  HTTP_HEADERS_TIMEOUT_SECONDS: seconds(3600).default(10),
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: seconds(3600).default(72),
  TRUST_PROXY: bool.default(false),
  GUEST_LOGIN_ENABLED: bool.default(true),
  GUEST_LOGIN_PER_MINUTE: positiveInt.default(10),
  GUEST_ROOMS_PER_MINUTE: positiveInt.default(30),
  TOKEN_MINT_PER_MINUTE: positiveInt.default(600),
};

export type HttpEnv = z.infer<z.ZodObject<typeof httpEnv>>;

export interface HttpConfig {
  port: number;
  host: string;
  /** Foreign origins allowed besides the server's own (`[]`: same-origin only), or `*`. */
  corsOrigins: string[] | '*';
  rateLimitPerSecond: number;
  bodyLimitBytes: number;
  trustProxy: boolean;
  timeouts: HttpTimeouts;
  /** The demo page's guest login and rooms by name (the API key becomes public). */
  guestLogin: boolean;
  /** Per-IP limits of guest login, guest rooms and join-token minting. */
  routeRateLimits: RouteRateLimits;
}

export interface HttpTimeouts {
  /** Time to receive a whole request, headers and body (408 after). */
  requestMs: number;
  /** Time to receive the request headers (408 after). */
  headersMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveMs: number;
}

export function httpSection(e: HttpEnv, loginMode: 'open' | 'strict'): HttpConfig {
  const origins = e.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  return {
    port: e.APP_PORT,
    host: e.APP_HOST,
    corsOrigins: origins.includes('*') ? '*' : origins,
    rateLimitPerSecond: e.HTTP_RATE_LIMIT_PER_SECOND,
    bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
    trustProxy: e.TRUST_PROXY,
    timeouts: {
      requestMs: Math.round(e.HTTP_REQUEST_TIMEOUT_SECONDS * 1000),
      headersMs: Math.round(e.HTTP_HEADERS_TIMEOUT_SECONDS * 1000),
      keepAliveMs: Math.round(e.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000),
    },
    // Guest login hands out the API key and accounts to anyone: never in strict mode.
    guestLogin: e.GUEST_LOGIN_ENABLED && loginMode === 'open',
    routeRateLimits: {
      guestLoginPerMinute: e.GUEST_LOGIN_PER_MINUTE,
      guestRoomsPerMinute: e.GUEST_ROOMS_PER_MINUTE,
      tokenMintPerMinute: e.TOKEN_MINT_PER_MINUTE,
    },
  };
}
