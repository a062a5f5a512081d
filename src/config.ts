import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import type { IceServerOptions } from './api/ice-servers.ts';
import { type AuthConfig, authEnv, authSection, resolveSecrets } from './config/auth-env.ts';
import {
  type ClusterConfig,
  clusterEnv,
  clusterSection,
  type DatabaseConfig,
  databaseSection,
} from './config/cluster-env.ts';
import { ConfigError } from './config/config-error.ts';
import { type EgressConfig, egressEnv, egressSection } from './config/egress-env.ts';
import { type HttpConfig, httpEnv, httpSection } from './config/http-env.ts';
import { iceSection, type MediaConfig, mediaEnv, mediaSection } from './config/media-env.ts';
import { type SignallingConfig, signallingEnv, signallingSection } from './config/signalling-env.ts';
import { type StorageConfig, storageEnv, storageSection } from './config/storage-env.ts';

export type { Secrets } from './config/auth-env.ts';
export { ConfigError } from './config/config-error.ts';
export type { HttpTimeouts } from './config/http-env.ts';

/**
 * Every setting of the server, read from environment variables (and an optional `.env` file).
 * Names follow Waterbus where it has one. `.env.example` documents each of them. Each area's
 * variables and section live in `config/`; this file composes them and checks what spans areas.
 */

export const envSchema = z
  .object({
    ...httpEnv,
    DATA_DIR: z.string().min(1).default('./data'),
    ...authEnv,
    ...mediaEnv,
    ...clusterEnv,
    ...storageEnv,
    ...egressEnv,
    ...signallingEnv,
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  })
  .refine((e) => e.ICE_UDP_ENABLED || e.ICE_TCP_ENABLED, {
    message: 'ICE_UDP_ENABLED=false needs ICE_TCP_ENABLED: a peer must have a candidate',
    path: ['ICE_UDP_ENABLED'],
  })
  .refine((e) => e.PORT_MIN_UDP <= e.PORT_MAX_UDP, {
    message: 'PORT_MIN_UDP must not be greater than PORT_MAX_UDP',
    path: ['PORT_MIN_UDP'],
  })
  // Node refuses a headers timeout longer than the request timeout.
  .refine((e) => e.HTTP_HEADERS_TIMEOUT_SECONDS <= e.HTTP_REQUEST_TIMEOUT_SECONDS, {
    message: 'HTTP_HEADERS_TIMEOUT_SECONDS must not be greater than HTTP_REQUEST_TIMEOUT_SECONDS',
    path: ['HTTP_HEADERS_TIMEOUT_SECONDS'],
  })
  // A partial segment is a piece of a segment: LL-HLS needs PART-TARGET below the target duration.
  .refine(
    (e) =>
      e.EGRESS_PART_SECONDS === 0 ||
      (e.EGRESS_PART_SECONDS >= 0.1 && e.EGRESS_PART_SECONDS < e.EGRESS_SEGMENT_SECONDS),
    {
      message: 'EGRESS_PART_SECONDS must be 0 (LL-HLS off) or from 0.1 to less than EGRESS_SEGMENT_SECONDS',
      path: ['EGRESS_PART_SECONDS'],
    },
  )
  // Credentials are derived from the secret: without it there would only be fake ones to hand out.
  .refine((e) => e.TURN_URLS.length === 0 || e.TURN_SECRET !== undefined, {
    message: "required when TURN_URLS is set (the TURN server's static-auth-secret, at least 16 characters)",
    path: ['TURN_SECRET'],
  })
  .refine((e) => e.AUTH_LOGIN_MODE !== 'strict' || e.AUTH_IDENTITY_SECRET !== undefined, {
    message:
      'required when AUTH_LOGIN_MODE=strict (the server-only secret that signs identity assertions, at least 32 characters)',
    path: ['AUTH_IDENTITY_SECRET'],
  });

export type Env = z.infer<typeof envSchema>;

export interface Config {
  http: HttpConfig;
  auth: AuthConfig;
  database: DatabaseConfig;
  dataDir: string;
  media: MediaConfig;
  cluster: ClusterConfig;
  storage: StorageConfig;
  /** Egress (experimental): live HLS, recordings and MoQ, loaded only when enabled. */
  egress: EgressConfig;
  signalling: SignallingConfig;
  /** STUN and TURN servers handed to clients by GET /auth/ice-servers. */
  ice: IceServerOptions;
  /** Endpoints that get room events as signed JSON POSTs (docs/webhooks.md); empty: off. */
  webhooks: { urls: string[] };
  log: { level: string; pretty: boolean };
  /** What the operator must be told at start (generated secrets, defaults in use). */
  notices: string[];
}

/** Reads a dotenv file; variables already in `env` win over the file. */
export function mergeEnvFile(env: NodeJS.ProcessEnv, file: string): NodeJS.ProcessEnv {
  if (!existsSync(file)) return env;
  const fromFile = parseEnv(readFileSync(file, 'utf8'));
  return { ...fromFile, ...env };
}

export function parseEnvVars(env: NodeJS.ProcessEnv): Env {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || 'environment';
    const value = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
    return `${name}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
  });
  throw new ConfigError(problems);
}

export interface LoadConfigOptions {
  env: NodeJS.ProcessEnv;
  /** Embedded mode may generate missing secrets; cluster roles must be given them. */
  generateMissingSecrets: boolean;
  isTty: boolean;
}

export function loadConfig({ env, generateMissingSecrets, isTty }: LoadConfigOptions): Config {
  const e = parseEnvVars(env);
  const notices: string[] = [];
  const dataDir = path.resolve(e.DATA_DIR);
  const secrets = resolveSecrets(e, dataDir, generateMissingSecrets, notices);
  const storage = storageSection(e);
  if (e.AUTH_LOGIN_MODE === 'strict' && env.GUEST_LOGIN_ENABLED !== undefined && e.GUEST_LOGIN_ENABLED) {
    notices.push('GUEST_LOGIN_ENABLED=true is ignored: guest login is off when AUTH_LOGIN_MODE=strict');
  }
  return {
    http: httpSection(e, e.AUTH_LOGIN_MODE),
    auth: authSection(e, secrets),
    database: databaseSection(e, dataDir),
    dataDir,
    media: mediaSection(e),
    cluster: clusterSection(e),
    storage,
    egress: egressSection(e, dataDir),
    signalling: signallingSection(e),
    ice: iceSection(e),
    webhooks: { urls: e.WEBHOOK_URLS },
    log: { level: e.LOG_LEVEL, pretty: e.LOG_FORMAT === 'pretty' || (e.LOG_FORMAT === 'auto' && isTty) },
    notices,
  };
}
