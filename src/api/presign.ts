import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { StorageOptions } from './deps.ts';

/**
 * S3 presigned URLs (AWS Signature Version 4, query-string authentication), written against the
 * AWS documentation rather than the AWS SDK. Works with AWS S3 and S3-compatible stores (R2, MinIO)
 * through STORAGE_ENDPOINT_URL.
 */

export const UPLOAD_EXPIRES_S = 60;
const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const KEY_ALPHABET = 'useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict';

export interface PresignRequest {
  method: string;
  /** The object URL without query, e.g. `https://bucket.s3.us-east-1.amazonaws.com/key`. */
  url: URL;
  region: string;
  service?: string;
  accessKeyId: string;
  secretAccessKey: string;
  now: Date;
  expiresS: number;
  /** Headers the uploader must send, signed along with `host` (names lowercase). */
  headers?: Record<string, string>;
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is escaped. */
export function uriEncode(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replaceAll('%2F', '/') : encoded;
}

/** `20130524T000000Z` */
export function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The canonical request of a presigned URL (step 1 of the SigV4 documentation). */
export function canonicalRequest(req: PresignRequest, query: Record<string, string>): string {
  const headers = { host: req.url.host, ...req.headers };
  const names = Object.keys(headers).sort();
  return [
    req.method,
    uriEncode(decodeURIComponent(req.url.pathname), true),
    canonicalQuery(query),
    names.map((n) => `${n}:${String(headers[n as keyof typeof headers]).trim()}\n`).join(''),
    names.join(';'),
    UNSIGNED_PAYLOAD,
  ].join('\n');
}

function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(query[k] ?? '')}`)
    .join('&');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Signs `req` and returns the full presigned URL. */
export function presignUrl(req: PresignRequest): string {
  const service = req.service ?? 's3';
  const stamp = amzDate(req.now);
  const day = stamp.slice(0, 8);
  const scope = `${day}/${req.region}/${service}/aws4_request`;
  const signedHeaders = ['host', ...Object.keys(req.headers ?? {})].sort().join(';');
  const query: Record<string, string> = {
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${req.accessKeyId}/${scope}`,
    'X-Amz-Date': stamp,
    'X-Amz-Expires': String(req.expiresS),
    'X-Amz-SignedHeaders': signedHeaders,
  };
  const hashedRequest = createHash('sha256').update(canonicalRequest(req, query), 'utf8').digest('hex');
  const stringToSign = [ALGORITHM, stamp, scope, hashedRequest].join('\n');
  let key = hmac(`AWS4${req.secretAccessKey}`, day);
  for (const part of [req.region, service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  const base = `${req.url.origin}${uriEncode(decodeURIComponent(req.url.pathname), true)}`;
  return `${base}?${canonicalQuery(query)}&X-Amz-Signature=${signature}`;
}

/** 21 random URL-safe characters, like nanoid(). */
export function randomObjectName(): string {
  const bytes = randomBytes(21);
  return Array.from(bytes, (b) => KEY_ALPHABET[b & 63]).join('');
}

/** Where objects live: path style under STORAGE_ENDPOINT_URL, else virtual-hosted AWS S3. */
export function objectUrl(storage: StorageOptions, key: string): URL {
  if (storage.endpointUrl) {
    const endpoint = storage.endpointUrl.replace(/\/+$/, '');
    return new URL(`${endpoint}/${uriEncode(storage.bucket)}/${uriEncode(key)}`);
  }
  return new URL(`https://${storage.bucket}.s3.${storage.region}.amazonaws.com/${uriEncode(key)}`);
}

/**
 * A presigned PUT for a new `<random>.webp` object, public-read, valid 60 s. The uploader must send
 * `x-amz-acl: public-read` (signed, as the Waterbus SDK does). Content-Type is deliberately not
 * signed: the Flutter SDK uploads with `image/png` whatever the key says.
 */
export function presignedUpload(
  storage: StorageOptions,
  now: Date = new Date(),
  key: string = `${randomObjectName()}.webp`,
): { presignedUrl: string; sourceUrl: string } {
  const url = objectUrl(storage, key);
  const presignedUrl = presignUrl({
    method: 'PUT',
    url,
    region: storage.region,
    accessKeyId: storage.accessKeyId,
    secretAccessKey: storage.secretAccessKey,
    now,
    expiresS: UPLOAD_EXPIRES_S,
    headers: { 'x-amz-acl': 'public-read' },
  });
  return { presignedUrl, sourceUrl: sourceUrlOf(storage, key, url) };
}

/**
 * The public URL of the object: `https://<STORAGE_CUSTOM_DOMAIN>/<bucket>/<key>` as Waterbus built
 * it, else the object URL without the signature (Waterbus returned the presigned URL itself,
 * which expires after 60 s; the SDK strips the query anyway).
 */
function sourceUrlOf(storage: StorageOptions, key: string, url: URL): string {
  if (!storage.customDomain) return url.toString();
  const domain = storage.customDomain.replace(/\/+$/, '');
  const base = /^https?:\/\//.test(domain) ? domain : `https://${domain}`;
  return `${base}/${uriEncode(storage.bucket)}/${uriEncode(key)}`;
}
