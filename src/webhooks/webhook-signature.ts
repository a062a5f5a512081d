import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying a webhook request's signature. */
export const SIGNATURE_HEADER = 'X-Bbmeet-Signature';

/** A receiver's default tolerance for the signature's age (and clock skew). */
export const DEFAULT_TOLERANCE_S = 300;

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the API secret
 * (CLIENT_SECRET_KEY). Signing the time with the body lets a receiver refuse a replayed request by
 * its age, as Stripe's `Stripe-Signature` scheme does.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

export interface VerifyOptions {
  /** Now, in unix seconds (default: the system clock). */
  nowS?: number;
  /** Largest accepted age (and clock skew) of the signature, seconds (default 300). */
  toleranceS?: number;
}

/**
 * Whether `header` (the X-Bbmeet-Signature value) signs `rawBody` (the request body exactly as
 * received, before any JSON parsing) with `secret`, within the tolerance. For receivers written in
 * TypeScript or JavaScript on Node; docs/webhooks.md shows the same steps for other languages.
 */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  rawBody: string,
  options: VerifyOptions = {},
): boolean {
  if (!header) return false;
  const fields = new Map<string, string[]>();
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    fields.set(key, [...(fields.get(key) ?? []), part.slice(eq + 1).trim()]);
  }
  const t = Number(fields.get('t')?.[0]);
  if (!Number.isSafeInteger(t)) return false;
  const nowS = options.nowS ?? Date.now() / 1000;
  if (Math.abs(nowS - t) > (options.toleranceS ?? DEFAULT_TOLERANCE_S)) return false;
  const expected = Buffer.from(hmacHex(secret, t, rawBody), 'hex');
  // Why several: a future key rotation may send one v1 per secret; any match is enough.
  return (fields.get('v1') ?? []).some((v) => {
    const given = Buffer.from(v, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function hmacHex(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}
