import { networkInterfaces } from 'node:os';
import type { RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { SfuEvent } from '../protocol/sfu-api.ts';
import type { CreateEgress, EgressHttp, EgressSettings } from './egress-backend.ts';
import { SfuEgressSource } from './egress-source.ts';
import type { RoomCodecPolicy } from './media/room-codecs.ts';
import { MediaWorkerPool } from './media-worker-pool.ts';
import { Sfu } from './sfu.ts';

export interface SfuOptions {
  workers: number;
  portMin: number;
  portMax: number;
  /** Passive ICE-TCP beside the UDP ports: worker i listens on tcpPortMin + i (default: none). */
  tcpPortMin?: number | undefined;
  /** Announce UDP candidates (default true). */
  udpCandidates?: boolean | undefined;
  publicIp: string | undefined;
  /** IPv6 address to announce (default: this machine's own, see announcedIps6). */
  publicIp6?: string | undefined;
  /** Receive on IPv6 and announce IPv6 candidates when there is an address (default true). */
  ipv6?: boolean | undefined;
  nodeId: string;
  logLevel: string;
  logger: Logger;
  /** ICE consent freshness timeout of every media transport (default 30 s, RFC 7675). */
  iceConsentTimeoutMs?: number;
  /** A room spans another worker once each of its workers holds this many of its participants (default 50). */
  roomParticipantsPerWorker?: number;
  /** ROOM_CODEC_POLICY: how a publisher's video codec is chosen (media/room-codecs.ts); default `auto`. */
  roomCodecPolicy?: RoomCodecPolicy | undefined;
  /** Nice value of the media worker threads, where permitted (media/worker-priority.ts); default 0. */
  workerNice?: number | undefined;
  /**
   * Egress (EGRESS_ENABLED): packages/egress's `createEgress`, loaded by the role. Without it the
   * SFU answers egress operations with 'unsupported'. Needs `egressSettings`.
   */
  egress?: CreateEgress | undefined;
  egressSettings?: EgressSettings | undefined;
}

export interface StartedSfu {
  sfu: Sfu;
  pool: MediaWorkerPool;
  /** What the egress serves under `/egress/` (the role mounts it); null without egress. */
  egressHttp: EgressHttp | null;
  /** Ends the egresses first (recordings finalised), then the media workers. */
  stop(): Promise<void>;
}

/**
 * Starts the media workers (one per port, at most `workers`) and returns the SFU that drives them.
 * Fails with a clear error when a port cannot be bound.
 */
export async function createSfu(options: SfuOptions): Promise<StartedSfu> {
  if (options.egress && !options.egressSettings)
    throw new TypeError('createSfu: the egress option needs egressSettings');
  const count = Math.max(1, Math.min(options.workers, options.portMax - options.portMin + 1));
  const ports = Array.from({ length: count }, (_, i) => options.portMin + i);
  let dispatch: (roomId: RoomId, event: SfuEvent) => void = () => undefined;
  const pool = new MediaWorkerPool({
    workerUrl: new URL('./media/worker-main.ts', import.meta.url),
    ports,
    tcpPorts: options.tcpPortMin === undefined ? undefined : ports.map((_, i) => options.tcpPortMin! + i),
    udpCandidates: options.udpCandidates,
    announcedIps: announcedIps(options.publicIp),
    announcedIps6: options.ipv6 === false ? [] : announcedIps6(options.publicIp6),
    nodeId: options.nodeId,
    logLevel: options.logLevel,
    logger: options.logger,
    iceConsentTimeoutMs: options.iceConsentTimeoutMs,
    roomParticipantsPerWorker: options.roomParticipantsPerWorker,
    roomCodecPolicy: options.roomCodecPolicy,
    workerNice: options.workerNice,
    onEvent: (roomId, event) => dispatch(roomId, event),
  });
  const sfu = new Sfu(pool);
  dispatch = sfu.dispatchEvent;
  try {
    await pool.start();
  } catch (err) {
    await pool.stop();
    throw new Error(
      `media workers could not start on UDP ports ${ports.join(', ')}${options.tcpPortMin === undefined ? '' : ` (ICE-TCP from port ${options.tcpPortMin})`}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  let egressHttp: EgressHttp | null = null;
  try {
    egressHttp = await attachEgress(sfu, pool, options);
  } catch (err) {
    await pool.stop();
    throw err;
  }
  const stop = async () => {
    try {
      await sfu.closeEgress();
    } finally {
      await pool.stop();
    }
  };
  return { sfu, pool, egressHttp, stop };
}

/** Builds the egress backend on the SFU's taps and gives it to the SFU (nothing without one). */
async function attachEgress(
  sfu: Sfu,
  pool: MediaWorkerPool,
  options: SfuOptions,
): Promise<EgressHttp | null> {
  if (!options.egress || !options.egressSettings) return null;
  const logger = options.logger.child({ component: 'egress' });
  const source = new SfuEgressSource({ nodeId: options.nodeId, workers: pool, logger });
  const { backend, http } = await options.egress({ source, settings: options.egressSettings, logger });
  sfu.attachEgress(backend, source);
  return http;
}

/** PUBLIC_IP when set; otherwise this machine's IPv4 addresses, loopback last. */
export function announcedIps(publicIp: string | undefined): string[] {
  if (publicIp) return [publicIp];
  const all = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4');
  const external = all.filter((i) => !i!.internal).map((i) => i!.address);
  const loopback = all.filter((i) => i!.internal).map((i) => i!.address);
  return [...new Set([...external, ...loopback])];
}

/**
 * PUBLIC_IP6 when set; otherwise this machine's IPv6 addresses that a peer elsewhere can reach:
 * not loopback (browsers gather no loopback candidates) and not link-local (fe80::/10 needs the
 * interface's scope, which an ICE candidate cannot carry). Empty: no IPv6.
 */
export function announcedIps6(
  publicIp6: string | undefined,
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string[] {
  if (publicIp6) return [publicIp6];
  const addresses = Object.values(interfaces)
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv6' && !i.internal && !isLinkLocal6(i.address))
    .map((i) => i!.address);
  return [...new Set(addresses)];
}

function isLinkLocal6(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}
