import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts';

/** What one delivery attempt came to. `retry`: worth another try (network error, timeout, 5xx, 429). */
export type SendOutcome = { ok: true } | { ok: false; retry: boolean; reason: string };

/** Sends one body once; `signal` aborts it (shutdown). Never throws. */
export type Send = (body: string, signal: AbortSignal) => Promise<SendOutcome>;

export interface HttpSenderOptions {
  url: string;
  /** The API secret (CLIENT_SECRET_KEY) that signs each request. */
  secret: string;
  /** An attempt without an answer after this long fails (and is retried). */
  timeoutMs: number;
  /** Unix seconds for the signature (tests pin it). */
  nowS?: () => number;
}

/**
 * POSTs a webhook body with its signature, signed at each attempt so the timestamp is the send
 * time. A 2xx answer delivers it; 5xx, 429, timeouts and network errors are worth a retry; any
 * other answer (e.g. 400, 401, 404) would be the same next time.
 */
export function httpSender(options: HttpSenderOptions): Send {
  const nowS = options.nowS ?? (() => Date.now() / 1000);
  return async (body, signal) => {
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'bbmeet-webhooks',
          [SIGNATURE_HEADER]: signWebhook(options.secret, body, nowS()),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      // The body is not needed; reading it to the end frees the connection for the next event.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, retry: res.status >= 500 || res.status === 429, reason: `status ${res.status}` };
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { ok: false, retry: true, reason };
    }
  };
}
