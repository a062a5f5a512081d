import path from 'node:path';
import { z } from 'zod';
import type { EgressSettings } from '../sfu/egress-backend.ts';
import { ConfigError } from './config-error.ts';
import { bool, optionalString, port } from './env-types.ts';
import type { StorageEnv } from './storage-env.ts';

/** The variables of egress (experimental): live HLS, recordings and MoQ. */
export const egressEnv = {
  EGRESS_ENABLED: bool.default(false),
  EGRESS_DIR: optionalString,
  EGRESS_SEGMENT_SECONDS: z.coerce.number({ error: 'expected seconds (0.5-30)' }).min(0.5).max(30).default(2),
  // 0 turns LL-HLS partial segments off.
  EGRESS_PART_SECONDS: z.coerce
    .number({ error: 'expected seconds (0, or 0.1-10)' })
    .min(0)
    .max(10)
    .default(0.5),
  EGRESS_WINDOW_SEGMENTS: z.coerce
    .number({ error: 'expected a number of segments (2-1000)' })
    .int()
    .min(2)
    .max(1000)
    .default(6),
  EGRESS_PUBLIC_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'expected an http:// or https:// URL of the /egress/ root',
  }),
  EGRESS_HTTP_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    port.optional(),
  ),
  // Where packages/egress is (default: the repository's own); tests point it elsewhere.
  EGRESS_PACKAGE_DIR: optionalString,
};

export type EgressEnv = z.infer<z.ZodObject<typeof egressEnv>>;

export interface EgressConfig {
  enabled: boolean;
  /** Cluster SFU nodes: port of the node's own `/egress/` HTTP server (none: nothing served). */
  httpPort: number | undefined;
  /** Where packages/egress is; undefined: the repository's own. */
  packageDir: string | undefined;
  settings: EgressSettings;
}

/** The `egress` section: HLS under DATA_DIR/egress, uploads to the STORAGE_* bucket when one is set. */
export function egressSection(e: EgressEnv & StorageEnv, dataDir: string): EgressConfig {
  return {
    enabled: e.EGRESS_ENABLED,
    httpPort: e.EGRESS_HTTP_PORT,
    packageDir: e.EGRESS_PACKAGE_DIR === undefined ? undefined : path.resolve(e.EGRESS_PACKAGE_DIR),
    settings: {
      dataDir: e.EGRESS_DIR === undefined ? path.join(dataDir, 'egress') : path.resolve(e.EGRESS_DIR),
      segmentSeconds: e.EGRESS_SEGMENT_SECONDS,
      partSeconds: e.EGRESS_PART_SECONDS,
      windowSegments: e.EGRESS_WINDOW_SEGMENTS,
      // Relative playlist and segment URLs are resolved against it: it must name a directory.
      publicUrl: e.EGRESS_PUBLIC_URL?.replace(/\/*$/, '/') ?? null,
      storage: egressStorage(e),
    },
  };
}

/**
 * The bucket egress uploads to: the same STORAGE_* credentials as presigned uploads. Without
 * STORAGE_ENDPOINT_URL it is AWS S3 of STORAGE_REGION (`auto`, the R2 default, names no AWS region).
 */
function egressStorage(e: EgressEnv & StorageEnv): EgressSettings['storage'] {
  if (!e.STORAGE_ACCESS_KEY_ID || !e.STORAGE_SECRET_ACCESS_KEY || !e.STORAGE_BUCKET_NAME) return null;
  const endpoint =
    e.STORAGE_ENDPOINT_URL ??
    (e.STORAGE_REGION === 'auto' ? undefined : `https://s3.${e.STORAGE_REGION}.amazonaws.com`);
  if (endpoint === undefined) {
    if (!e.EGRESS_ENABLED) return null;
    throw new ConfigError([
      'STORAGE_ENDPOINT_URL: required for egress uploads when STORAGE_REGION is auto (or set an AWS region)',
    ]);
  }
  return {
    endpoint,
    region: e.STORAGE_REGION,
    bucket: e.STORAGE_BUCKET_NAME,
    accessKeyId: e.STORAGE_ACCESS_KEY_ID,
    secretAccessKey: e.STORAGE_SECRET_ACCESS_KEY,
    forcePathStyle: e.STORAGE_FORCE_PATH_STYLE,
  };
}
