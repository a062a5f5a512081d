import { z } from 'zod';
import { bool, optionalString, urlList } from './env-types.ts';

/** Where the server sends things out: the S3-compatible bucket (uploads, egress) and the webhooks. */
export const storageEnv = {
  STORAGE_ACCESS_KEY_ID: optionalString,
  STORAGE_SECRET_ACCESS_KEY: optionalString,
  STORAGE_BUCKET_NAME: optionalString,
  STORAGE_REGION: z.string().min(1).default('auto'),
  STORAGE_ENDPOINT_URL: optionalString.refine((v) => v === undefined || z.url().safeParse(v).success, {
    message: 'expected a URL',
  }),
  STORAGE_CUSTOM_DOMAIN: optionalString,
  // Path-style bucket URLs (`endpoint/bucket/key`): MinIO and most self-hosted S3-compatible servers.
  STORAGE_FORCE_PATH_STYLE: bool.default(false),
  WEBHOOK_URLS: urlList(['http', 'https']).refine((urls) => urls.every((u) => URL.canParse(u)), {
    message: 'expected a comma-separated list of http:// or https:// URLs',
  }),
};

export type StorageEnv = z.infer<z.ZodObject<typeof storageEnv>>;

export type StorageConfig =
  | {
      accessKeyId: string;
      secretAccessKey: string;
      bucket: string;
      region: string;
      endpointUrl: string | undefined;
      customDomain: string | undefined;
    }
  | undefined;

export function storageSection(e: StorageEnv): StorageConfig {
  return e.STORAGE_ACCESS_KEY_ID && e.STORAGE_SECRET_ACCESS_KEY && e.STORAGE_BUCKET_NAME
    ? {
        accessKeyId: e.STORAGE_ACCESS_KEY_ID,
        secretAccessKey: e.STORAGE_SECRET_ACCESS_KEY,
        bucket: e.STORAGE_BUCKET_NAME,
        region: e.STORAGE_REGION,
        endpointUrl: e.STORAGE_ENDPOINT_URL,
        customDomain: e.STORAGE_CUSTOM_DOMAIN,
      }
    : undefined;
}
