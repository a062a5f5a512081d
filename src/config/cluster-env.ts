import path from 'node:path';
import { z } from 'zod';
import { optionalString, port, seconds } from './env-types.ts';

/** The variables of the database (embedded or PostgreSQL), Redis and the SFU nodes of a cluster. */
export const clusterEnv = {
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'expected a postgres:// or postgresql:// URL (leave empty for the embedded database)',
  }),
  // A request waits at most this for a PostgreSQL connection (new, or free in the full pool).
  DATABASE_CONNECT_TIMEOUT_SECONDS: seconds(300).default(5),
  // A query waits at most this for PostgreSQL's answer (a connection that went silent).
  DATABASE_QUERY_TIMEOUT_SECONDS: seconds(3600).default(10),
  REDIS_URL: optionalString.refine((v) => v === undefined || /^rediss?:\/\//.test(v), {
    message: 'expected a redis:// or rediss:// URL',
  }),
  SFU_PORT: port.default(50051),
  SFU_HOST: z.string().min(1).default('0.0.0.0'),
  SFU_ADVERTISED_HOST: optionalString,
  // A `bbmeet sfu` node's GET /metrics (media path metrics); unset: none.
  SFU_METRICS_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    port.optional(),
  ),
  DRAIN_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  GROUP_ID: z.string().min(1).default('bbmeet-group-1'),
  NODE_ID: optionalString,
};

export type ClusterEnv = z.infer<z.ZodObject<typeof clusterEnv>>;

export interface DatabaseConfig {
  url: string | undefined;
  sqlitePath: string;
  /** PostgreSQL only: the waits after which a request fails with 503 instead of hanging. */
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

export interface ClusterConfig {
  redisUrl: string | undefined;
  sfuPort: number;
  /** Address the SFU node's gRPC server listens on. */
  sfuHost: string;
  /** Host signalling instances dial to reach this SFU node (default: PUBLIC_IP, else a local IPv4). */
  sfuAdvertisedHost: string | undefined;
  /** Port of the SFU node's `GET /metrics` on SFU_HOST (undefined: the node serves none). */
  sfuMetricsPort: number | undefined;
  groupId: string;
  nodeId: string | undefined;
  /** A draining SFU node exits when its rooms are empty or after this long. */
  drainTimeoutMs: number;
}

export function databaseSection(e: ClusterEnv, dataDir: string): DatabaseConfig {
  return {
    url: e.DATABASE_URL,
    sqlitePath: path.join(dataDir, 'bbmeet.sqlite'),
    connectTimeoutMs: Math.round(e.DATABASE_CONNECT_TIMEOUT_SECONDS * 1000),
    queryTimeoutMs: Math.round(e.DATABASE_QUERY_TIMEOUT_SECONDS * 1000),
  };
}

export function clusterSection(e: ClusterEnv): ClusterConfig {
  return {
    redisUrl: e.REDIS_URL,
    sfuPort: e.SFU_PORT,
    sfuHost: e.SFU_HOST,
    sfuAdvertisedHost: e.SFU_ADVERTISED_HOST,
    sfuMetricsPort: e.SFU_METRICS_PORT,
    groupId: e.GROUP_ID,
    nodeId: e.NODE_ID,
    drainTimeoutMs: e.DRAIN_TIMEOUT_SECONDS * 1000,
  };
}
