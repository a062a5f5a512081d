import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import type { IceServerOptions } from './api/ice-servers.ts';
import type { RouteRateLimits } from './api/ip-rate-limit.ts';
import type { EgressSettings } from './sfu/egress-backend.ts';

/**
 * Every setting of the server, read from environment variables (and an optional `.env` file).
 * Names follow Waterbus where it has one. `.env.example` documents each of them.
 */

const port = z.coerce.number({ error: 'expected a port number (1-65535)' }).int().min(1).max(65535);
const positiveInt = z.coerce.number({ error: 'expected a positive whole number' }).int().positive();
/** Seconds, fractions allowed (tests use short timeouts). */
const seconds = (max: number) =>
  z.coerce
    .number({ error: `expected seconds (0.1-${max})` })
    .min(0.1)
    .max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/** The non-empty, trimmed items of a comma-separated variable (empty when unset). */
const commaList = () =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== ''),
    );
/** A comma-separated list of URLs with one of these schemes (ICE server URLs, RFC 7064 / RFC 7065). */
const urlList = (schemes: string[]) =>
  commaList().refine((urls) => urls.every((u) => schemes.some((scheme) => u.startsWith(`${scheme}:`))), {
    message: `expected a comma-separated list of ${schemes.join(':/')}: URLs`,
  });
/** `stun:host` or `stun:host:port` (RFC 7064; port 3478 by default), host a name or an IPv4 address. */
function parseStunServer(url: string): { url: string; host: string; port: number } | undefined {
  const match = /^stun:([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(url);
  if (!match) return undefined;
  const port = match[2] === undefined ? 3478 : Number(match[2]);
  return port >= 1 && port <= 65_535 ? { url, host: match[1]!, port } : undefined;
}
const stunServerList = commaList()
  .refine((urls) => urls.every((u) => parseStunServer(u) !== undefined), {
    message: 'expected a comma-separated list of stun:host:port (e.g. stun:stun.example.net:3478)',
  })
  .transform((urls) => urls.map((u) => parseStunServer(u)!));
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const envSchema = z
  .object({
    APP_PORT: port.default(5998),
    APP_HOST: z.string().min(1).default('0.0.0.0'),
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
      message: 'expected a postgres:// or postgresql:// URL (leave empty for the embedded database)',
    }),
    // A request waits at most this for a PostgreSQL connection (new, or free in the full pool).
    DATABASE_CONNECT_TIMEOUT_SECONDS: seconds(300).default(5),
    // A query waits at most this for PostgreSQL's answer (a connection that went silent).
    DATABASE_QUERY_TIMEOUT_SECONDS: seconds(3600).default(10),
    CLIENT_SECRET_KEY: optionalString,
    AUTH_JWT_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
      message: 'expected at least 16 characters',
    }),
    AUTH_REFRESH_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
      message: 'expected at least 16 characters',
    }),
    AUTH_JWT_TOKEN_EXPIRES_IN: positiveInt.default(86_400),
    AUTH_REFRESH_TOKEN_EXPIRES_IN: positiveInt.default(31_536_000),
    AUTH_LOGIN_MODE: z.enum(['open', 'strict']).default('open'),
    AUTH_IDENTITY_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
      message: 'expected at least 32 characters',
    }),
    PUBLIC_IP: optionalString.refine((v) => v === undefined || z.ipv4().safeParse(v).success, {
      message: 'expected an IPv4 address',
    }),
    /** IPv6 address announced in ICE candidates (empty: this machine's global and unique-local ones). */
    PUBLIC_IP6: optionalString.refine((v) => v === undefined || z.ipv6().safeParse(v).success, {
      message: 'expected an IPv6 address',
    }),
    /** false: no IPv6 socket and no IPv6 candidates, even with an IPv6 address or PUBLIC_IP6. */
    ICE_IPV6_ENABLED: bool.default(true),
    /** STUN servers asked for this machine's public IPv4 at start, in order (PUBLIC_IP wins when set). */
    PUBLIC_IP_DISCOVERY: stunServerList,
    PORT_MIN_UDP: port.default(19200),
    PORT_MAX_UDP: port.default(19250),
    /** Passive ICE-TCP (RFC 6544) beside each worker's UDP port, for peers whose UDP is blocked. */
    ICE_TCP_ENABLED: bool.default(true),
    /** First worker's ICE-TCP port (worker i listens on it + i); empty: the same numbers as the UDP ports. */
    PORT_MIN_TCP: port.optional(),
    /** false announces no UDP candidates (tests that make browsers use ICE-TCP); needs ICE_TCP_ENABLED. */
    ICE_UDP_ENABLED: bool.default(true),
    MEDIA_WORKERS: z.coerce.number().int().min(0).max(256).default(0),
    MEDIA_ROOM_PARTICIPANTS_PER_WORKER: z.coerce
      .number({ error: 'expected a number of participants (1-10000)' })
      .int()
      .min(1)
      .max(10_000)
      .default(50),
    MEDIA_ENABLED: bool.default(true),
    ICE_CONSENT_TIMEOUT_MS: z.coerce
      .number({ error: 'expected milliseconds (1000-600000)' })
      .int()
      .min(1000)
      .max(600_000)
      .default(30_000),
    /**
     * auto: a publisher's video codec is one every participant present decodes (the first such of
     * its order); publisher: always the publisher's first.
     */
    ROOM_CODEC_POLICY: z.enum(['auto', 'publisher']).default('auto'),
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
    EGRESS_ENABLED: bool.default(false),
    EGRESS_DIR: optionalString,
    EGRESS_SEGMENT_SECONDS: z.coerce
      .number({ error: 'expected seconds (0.5-30)' })
      .min(0.5)
      .max(30)
      .default(2),
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
    STUN_URLS: urlList(['stun', 'stuns']),
    TURN_URLS: urlList(['turn', 'turns']),
    TURN_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
      message: 'expected at least 16 characters',
    }),
    WEBHOOK_URLS: urlList(['http', 'https']).refine((urls) => urls.every((u) => URL.canParse(u)), {
      message: 'expected a comma-separated list of http:// or https:// URLs',
    }),
    TURN_TTL_SECONDS: z.coerce
      .number({ error: 'expected seconds (60-604800)' })
      .int()
      .min(60)
      .max(604_800)
      .default(86_400),
    CORS_ORIGINS: z.string().default(''),
    HTTP_RATE_LIMIT_PER_SECOND: positiveInt.default(200),
    HTTP_BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
    HTTP_REQUEST_TIMEOUT_SECONDS: seconds(3600).default(30),
    HTTP_HEADERS_TIMEOUT_SECONDS: seconds(3600).default(10),
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: seconds(3600).default(72),
    // The largest legitimate event is a publish offer: 9.4 KB framed for Chromium's audio, simulcast
    // camera, screen share and data channel (test/fixtures/sdp); 64 KiB leaves room for 6x that.
    SOCKET_MAX_MESSAGE_BYTES: positiveInt.default(65_536),
    SOCKET_EVENTS_PER_SECOND: positiveInt.default(50),
    SOCKET_EVENTS_BURST: positiveInt.default(200),
    SOCKET_CONNECTIONS_PER_IP: positiveInt.default(500),
    SOCKET_CONNECTIONS_PER_USER: positiveInt.default(20),
    SOCKET_UNAUTHENTICATED_PER_IP: positiveInt.default(50),
    SOCKET_CONNECT_TIMEOUT_SECONDS: seconds(300).default(10),
    RECONNECT_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
    TRUST_PROXY: bool.default(false),
    GUEST_LOGIN_ENABLED: bool.default(true),
    GUEST_LOGIN_PER_MINUTE: positiveInt.default(10),
    GUEST_ROOMS_PER_MINUTE: positiveInt.default(30),
    TOKEN_MINT_PER_MINUTE: positiveInt.default(600),
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

export interface Secrets {
  apiKey: string;
  jwtSecret: string;
  refreshSecret: string;
}

export interface Config {
  http: {
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
  };
  auth: {
    apiKey: string;
    jwtSecret: string;
    refreshSecret: string;
    accessTokenTtlS: number;
    refreshTokenTtlS: number;
    /** `open`: POST /auth trusts the externalId (Waterbus); `strict`: it needs an identity assertion. */
    loginMode: 'open' | 'strict';
    /** Signs identity assertions (strict mode); never shipped in a client. */
    identitySecret: string | undefined;
  };
  database: {
    url: string | undefined;
    sqlitePath: string;
    /** PostgreSQL only: the waits after which a request fails with 503 instead of hanging. */
    connectTimeoutMs: number;
    queryTimeoutMs: number;
  };
  dataDir: string;
  media: {
    enabled: boolean;
    publicIp: string | undefined;
    /** IPv6 address announced beside the IPv4 ones (undefined: this machine's own, when ipv6). */
    publicIp6: string | undefined;
    /** Whether the workers receive on IPv6 and announce IPv6 candidates (when there is an address). */
    ipv6: boolean;
    /** STUN servers that tell the public address at start when publicIp is not set (empty: none asked). */
    publicIpDiscovery: Array<{ url: string; host: string; port: number }>;
    portMin: number;
    portMax: number;
    /** Passive ICE-TCP: worker i listens on tcpPortMin + i; undefined: no ICE-TCP. */
    tcpPortMin: number | undefined;
    /** Whether UDP candidates are announced (always true outside tests of UDP-less peers). */
    udpCandidates: boolean;
    workers: number;
    /** A transport whose peer sent no valid ICE check for this long is closed (RFC 7675: 30 s). */
    iceConsentTimeoutMs: number;
    /** A room spans another media worker once each of its workers holds this many of its participants. */
    roomParticipantsPerWorker: number;
    /** ROOM_CODEC_POLICY: how a publisher's video codec is chosen (sfu/media/room-codecs.ts). */
    roomCodecPolicy: 'auto' | 'publisher';
  };
  cluster: {
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
  };
  storage:
    | {
        accessKeyId: string;
        secretAccessKey: string;
        bucket: string;
        region: string;
        endpointUrl: string | undefined;
        customDomain: string | undefined;
      }
    | undefined;
  /** Egress (experimental): live HLS, recordings and MoQ, loaded only when enabled. */
  egress: {
    enabled: boolean;
    /** Cluster SFU nodes: port of the node's own `/egress/` HTTP server (none: nothing served). */
    httpPort: number | undefined;
    /** Where packages/egress is; undefined: the repository's own. */
    packageDir: string | undefined;
    settings: EgressSettings;
  };
  signalling: {
    maxMessageBytes: number;
    eventsPerSecond: number;
    eventsBurst: number;
    connectionsPerIp: number;
    connectionsPerUser: number;
    unauthenticatedPerIp: number;
    connectTimeoutMs: number;
    reconnectGraceMs: number;
  };
  /** STUN and TURN servers handed to clients by GET /auth/ice-servers. */
  ice: IceServerOptions;
  /** Endpoints that get room events as signed JSON POSTs (docs/webhooks.md); empty: off. */
  webhooks: { urls: string[] };
  log: { level: string; pretty: boolean };
  /** What the operator must be told at start (generated secrets, defaults in use). */
  notices: string[];
}

export interface HttpTimeouts {
  /** Time to receive a whole request, headers and body (408 after). */
  requestMs: number;
  /** Time to receive the request headers (408 after). */
  headersMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveMs: number;
}

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
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
  const storage =
    e.STORAGE_ACCESS_KEY_ID && e.STORAGE_SECRET_ACCESS_KEY && e.STORAGE_BUCKET_NAME
      ? {
          accessKeyId: e.STORAGE_ACCESS_KEY_ID,
          secretAccessKey: e.STORAGE_SECRET_ACCESS_KEY,
          bucket: e.STORAGE_BUCKET_NAME,
          region: e.STORAGE_REGION,
          endpointUrl: e.STORAGE_ENDPOINT_URL,
          customDomain: e.STORAGE_CUSTOM_DOMAIN,
        }
      : undefined;
  const origins = e.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (e.AUTH_LOGIN_MODE === 'strict' && env.GUEST_LOGIN_ENABLED !== undefined && e.GUEST_LOGIN_ENABLED) {
    notices.push('GUEST_LOGIN_ENABLED=true is ignored: guest login is off when AUTH_LOGIN_MODE=strict');
  }
  return {
    http: {
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
      guestLogin: e.GUEST_LOGIN_ENABLED && e.AUTH_LOGIN_MODE === 'open',
      routeRateLimits: {
        guestLoginPerMinute: e.GUEST_LOGIN_PER_MINUTE,
        guestRoomsPerMinute: e.GUEST_ROOMS_PER_MINUTE,
        tokenMintPerMinute: e.TOKEN_MINT_PER_MINUTE,
      },
    },
    auth: {
      ...secrets,
      accessTokenTtlS: e.AUTH_JWT_TOKEN_EXPIRES_IN,
      refreshTokenTtlS: e.AUTH_REFRESH_TOKEN_EXPIRES_IN,
      apiKey: secrets.apiKey,
      loginMode: e.AUTH_LOGIN_MODE,
      identitySecret: e.AUTH_IDENTITY_SECRET,
    },
    database: {
      url: e.DATABASE_URL,
      sqlitePath: path.join(dataDir, 'bbmeet.sqlite'),
      connectTimeoutMs: Math.round(e.DATABASE_CONNECT_TIMEOUT_SECONDS * 1000),
      queryTimeoutMs: Math.round(e.DATABASE_QUERY_TIMEOUT_SECONDS * 1000),
    },
    dataDir,
    media: {
      enabled: e.MEDIA_ENABLED,
      publicIp: e.PUBLIC_IP,
      publicIp6: e.PUBLIC_IP6,
      ipv6: e.ICE_IPV6_ENABLED,
      publicIpDiscovery: e.PUBLIC_IP_DISCOVERY,
      portMin: e.PORT_MIN_UDP,
      portMax: e.PORT_MAX_UDP,
      tcpPortMin: e.ICE_TCP_ENABLED ? (e.PORT_MIN_TCP ?? e.PORT_MIN_UDP) : undefined,
      udpCandidates: e.ICE_UDP_ENABLED,
      workers: e.MEDIA_WORKERS === 0 ? os.availableParallelism() : e.MEDIA_WORKERS,
      iceConsentTimeoutMs: e.ICE_CONSENT_TIMEOUT_MS,
      roomParticipantsPerWorker: e.MEDIA_ROOM_PARTICIPANTS_PER_WORKER,
      roomCodecPolicy: e.ROOM_CODEC_POLICY,
    },
    cluster: {
      redisUrl: e.REDIS_URL,
      sfuPort: e.SFU_PORT,
      sfuHost: e.SFU_HOST,
      sfuAdvertisedHost: e.SFU_ADVERTISED_HOST,
      sfuMetricsPort: e.SFU_METRICS_PORT,
      groupId: e.GROUP_ID,
      nodeId: e.NODE_ID,
      drainTimeoutMs: e.DRAIN_TIMEOUT_SECONDS * 1000,
    },
    storage,
    egress: egressSection(e, dataDir),
    signalling: {
      maxMessageBytes: e.SOCKET_MAX_MESSAGE_BYTES,
      eventsPerSecond: e.SOCKET_EVENTS_PER_SECOND,
      eventsBurst: e.SOCKET_EVENTS_BURST,
      connectionsPerIp: e.SOCKET_CONNECTIONS_PER_IP,
      connectionsPerUser: e.SOCKET_CONNECTIONS_PER_USER,
      unauthenticatedPerIp: e.SOCKET_UNAUTHENTICATED_PER_IP,
      connectTimeoutMs: Math.round(e.SOCKET_CONNECT_TIMEOUT_SECONDS * 1000),
      reconnectGraceMs: e.RECONNECT_GRACE_SECONDS * 1000,
    },
    ice: iceSection(e),
    webhooks: { urls: e.WEBHOOK_URLS },
    log: { level: e.LOG_LEVEL, pretty: e.LOG_FORMAT === 'pretty' || (e.LOG_FORMAT === 'auto' && isTty) },
    notices,
  };
}

/**
 * TURN credentials live TURN_TTL_SECONDS (default one day, as draft-uberti-behave-turn-rest-00
 * section 2.2 recommends): a connection keeps the servers it was made with, so a credential
 * expiring mid-call would make an ICE restart late in a long call fail to allocate its relay.
 */
function iceSection(e: Env): IceServerOptions {
  const turn =
    e.TURN_URLS.length > 0 && e.TURN_SECRET !== undefined
      ? { urls: e.TURN_URLS, secret: e.TURN_SECRET, ttlS: e.TURN_TTL_SECONDS }
      : undefined;
  return { stunUrls: e.STUN_URLS, turn };
}

/** The `egress` section: HLS under DATA_DIR/egress, uploads to the STORAGE_* bucket when one is set. */
function egressSection(e: Env, dataDir: string): Config['egress'] {
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
function egressStorage(e: Env): EgressSettings['storage'] {
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

const SECRET_NAMES = {
  apiKey: 'CLIENT_SECRET_KEY',
  jwtSecret: 'AUTH_JWT_SECRET',
  refreshSecret: 'AUTH_REFRESH_SECRET',
} as const;

/**
 * Secrets from the environment; in embedded mode, missing ones are generated once and kept in
 * `<DATA_DIR>/secrets.json` (mode 0600) so that tokens survive restarts.
 */
function resolveSecrets(e: Env, dataDir: string, generate: boolean, notices: string[]): Secrets {
  const given: Partial<Secrets> = {
    apiKey: e.CLIENT_SECRET_KEY,
    jwtSecret: e.AUTH_JWT_SECRET,
    refreshSecret: e.AUTH_REFRESH_SECRET,
  };
  const missing = (Object.keys(SECRET_NAMES) as Array<keyof Secrets>).filter((k) => given[k] === undefined);
  if (missing.length === 0) return given as Secrets;
  if (!generate) {
    throw new ConfigError(missing.map((k) => `${SECRET_NAMES[k]}: required in cluster roles (not set)`));
  }
  const file = path.join(dataDir, 'secrets.json');
  const stored = readStoredSecrets(file);
  const result = { ...given } as Secrets;
  let changed = false;
  for (const key of missing) {
    const existing = stored[key];
    if (existing) {
      result[key] = existing;
    } else {
      result[key] = randomBytes(key === 'apiKey' ? 18 : 32).toString('base64url');
      stored[key] = result[key];
      changed = true;
    }
    notices.push(`${SECRET_NAMES[key]} is not set: using the generated value kept in ${file}`);
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return result;
}

function readStoredSecrets(file: string): Partial<Secrets> {
  if (!existsSync(file)) return {};
  const parsed = z
    .object({
      apiKey: z.string().optional(),
      jwtSecret: z.string().optional(),
      refreshSecret: z.string().optional(),
    })
    .safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new ConfigError([`${file}: not a valid secrets file; fix or delete it`]);
  return parsed.data;
}
