import type { IncomingHttpHeaders } from 'node:http';

/** What the policy reads of a request (an IncomingMessage, or the `cors` package's request). */
export interface OriginRequest {
  headers: IncomingHttpHeaders;
}

/** What the CORS policy answers for one request. */
export type CorsDecision =
  /** No Origin header (native clients, curl) or the page's own origin: no CORS headers needed. */
  | { allowed: true; allowOrigin: undefined }
  /** A listed origin (echoed, with credentials) or any origin under `*` (no credentials). */
  | { allowed: true; allowOrigin: string; credentials: boolean }
  | { allowed: false; origin: string };

export interface CorsPolicyOptions {
  /** Origins allowed besides the server's own; `*` allows any (explicit opt-in). */
  origins: readonly string[] | '*';
  /** Behind a trusted proxy, the page's host is the X-Forwarded-Host it was asked for. */
  trustProxy: boolean;
}

/**
 * One CORS policy for REST and socket.io (CORS_ORIGINS): a request without Origin is allowed, as
 * is one whose Origin is the request's own host (the demo page, /docs); any other origin only when
 * listed, or with `*`. Refused origins are never echoed.
 */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string> | '*';
  readonly #trustProxy: boolean;

  constructor(options: CorsPolicyOptions) {
    this.#origins = options.origins === '*' ? '*' : new Set(options.origins.map(normaliseOrigin));
    this.#trustProxy = options.trustProxy;
  }

  decide(request: OriginRequest): CorsDecision {
    const origin = request.headers.origin;
    if (origin === undefined || origin === '') return { allowed: true, allowOrigin: undefined };
    if (this.#isSameOrigin(origin, request)) return { allowed: true, allowOrigin: undefined };
    if (this.#origins === '*') return { allowed: true, allowOrigin: '*', credentials: false };
    if (this.#origins.has(normaliseOrigin(origin)))
      return { allowed: true, allowOrigin: origin, credentials: true };
    return { allowed: false, origin };
  }

  allows(request: OriginRequest): boolean {
    return this.decide(request).allowed;
  }

  #isSameOrigin(origin: string, request: OriginRequest): boolean {
    const forwarded = this.#trustProxy ? firstValue(request.headers['x-forwarded-host']) : undefined;
    const host = forwarded ?? request.headers.host;
    if (!host) return false;
    try {
      // The scheme is not compared: behind a TLS-terminating proxy the page is https and the
      // request reaching us is http, for the same host and port.
      return new URL(origin).host === new URL(`http://${host}`).host;
    } catch {
      return false;
    }
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim() || undefined;
}

/** `https://App.example:443/` and `https://app.example` name the same origin. */
function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin.trim();
  }
}
