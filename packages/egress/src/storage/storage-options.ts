import type { EgressSettings } from '../../../../src/sfu/egress-backend.ts';

/**
 * The bucket settings (EgressSettings.storage), plus the optional public host of the original's
 * STORAGE_CUSTOM_DOMAIN: objects are then linked as `https://<customDomain>/<bucket>/<key>`.
 */
export type StorageSettings = NonNullable<EgressSettings['storage']> & { customDomain?: string | null };

/** The S3 endpoint: the configured one, else AWS's regional endpoint. */
export function endpointOf(storage: StorageSettings): string {
  return storage.endpoint || `https://s3.${storage.region}.amazonaws.com`;
}

/** Each path segment of a key, percent-encoded for a URL (the slashes stay). */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * The public URL of an object: on the custom domain when set (a bare host gets `https://`), else
 * path style on the endpoint (`<endpoint>/<bucket>/<key>`), else virtual-hosted style
 * (`<scheme>://<bucket>.<endpoint host>/<key>`).
 */
export function objectUrl(storage: StorageSettings, key: string): string {
  const path = encodeKey(key);
  const bucket = encodeURIComponent(storage.bucket);
  if (storage.customDomain) {
    const base = storage.customDomain.includes('://')
      ? storage.customDomain
      : `https://${storage.customDomain}`;
    return `${base.replace(/\/+$/, '')}/${bucket}/${path}`;
  }
  const endpoint = new URL(endpointOf(storage));
  const base = endpoint.href.replace(/\/+$/, '');
  if (storage.forcePathStyle) return `${base}/${bucket}/${path}`;
  return `${endpoint.protocol}//${storage.bucket}.${endpoint.host}${endpoint.pathname.replace(/\/+$/, '')}/${path}`;
}
