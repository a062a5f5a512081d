import os from 'node:os';
import { z } from 'zod';
import type { IceServerOptions } from '../api/ice-servers.ts';
import { bool, commaList, optionalString, port, urlList } from './env-types.ts';

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

/** The media path's variables (addresses, ports, ICE, workers, codecs) and the ICE servers handed to clients. */
export const mediaEnv = {
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
  /**
   * Nice value of the media worker threads (media/worker-priority.ts): below the rest of the
   * process (signalling, HTTP, metrics) so a burst of that work does not delay forwarding.
   */
  MEDIA_WORKER_NICE: z.coerce
    .number({ error: 'expected a nice value (-20 to 19)' })
    .int()
    .min(-20)
    .max(19)
    .default(-10),
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
  STUN_URLS: urlList(['stun', 'stuns']),
  TURN_URLS: urlList(['turn', 'turns']),
  TURN_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'expected at least 16 characters',
  }),
  TURN_TTL_SECONDS: z.coerce
    .number({ error: 'expected seconds (60-604800)' })
    .int()
    .min(60)
    .max(604_800)
    .default(86_400),
};

export type MediaEnv = z.infer<z.ZodObject<typeof mediaEnv>>;

export interface MediaConfig {
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
  /** MEDIA_WORKER_NICE: the media worker threads' nice value, where the system permits it. */
  workerNice: number;
}

export function mediaSection(e: MediaEnv): MediaConfig {
  return {
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
    workerNice: e.MEDIA_WORKER_NICE,
  };
}

/**
 * TURN credentials live TURN_TTL_SECONDS (default one day, as draft-uberti-behave-turn-rest-00
 * section 2.2 recommends): a connection keeps the servers it was made with, so a credential
 * expiring mid-call would make an ICE restart late in a long call fail to allocate its relay.
 */
export function iceSection(e: MediaEnv): IceServerOptions {
  const turn =
    e.TURN_URLS.length > 0 && e.TURN_SECRET !== undefined
      ? { urls: e.TURN_URLS, secret: e.TURN_SECRET, ttlS: e.TURN_TTL_SECONDS }
      : undefined;
  return { stunUrls: e.STUN_URLS, turn };
}
