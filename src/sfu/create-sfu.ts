import { networkInterfaces } from 'node:os';
import type { RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { SfuEvent } from '../protocol/sfu-api.ts';
import type { CreateEgress, EgressSettings } from './egress-backend.ts';
import { MediaWorkerPool } from './media-worker-pool.ts';
import { Sfu } from './sfu.ts';

export interface SfuOptions {
  workers: number;
  portMin: number;
  portMax: number;
  publicIp: string | undefined;
  nodeId: string;
  logLevel: string;
  logger: Logger;
  /** ICE consent freshness timeout of every media transport (default 30 s, RFC 7675). */
  iceConsentTimeoutMs?: number;
  /** A room spans another worker once each of its workers holds this many of its participants (default 50). */
  roomParticipantsPerWorker?: number;
  /**
   * EGRESS_ENABLED: packages/egress's entry point (loaded by roles/egress-loader.ts), called once
   * with the SFU's EgressSource and `egressSettings`; absent: egress operations answer 'unsupported'.
   */
  egress?: CreateEgress;
  egressSettings?: EgressSettings;
}

/**
 * Starts the media workers (one per port, at most `workers`) and returns the SFU that drives them.
 * Fails with a clear error when a port cannot be bound.
 */
export async function createSfu(
  options: SfuOptions,
): Promise<{ sfu: Sfu; pool: MediaWorkerPool; stop(): Promise<void> }> {
  const count = Math.max(1, Math.min(options.workers, options.portMax - options.portMin + 1));
  const ports = Array.from({ length: count }, (_, i) => options.portMin + i);
  let dispatch: (roomId: RoomId, event: SfuEvent) => void = () => undefined;
  const pool = new MediaWorkerPool({
    workerUrl: new URL('./media/worker-main.ts', import.meta.url),
    ports,
    announcedIps: announcedIps(options.publicIp),
    nodeId: options.nodeId,
    logLevel: options.logLevel,
    logger: options.logger,
    iceConsentTimeoutMs: options.iceConsentTimeoutMs,
    roomParticipantsPerWorker: options.roomParticipantsPerWorker,
    onEvent: (roomId, event) => dispatch(roomId, event),
  });
  const sfu = new Sfu(pool);
  dispatch = sfu.dispatchEvent;
  try {
    await pool.start();
  } catch (err) {
    await pool.stop();
    throw new Error(
      `media workers could not start on UDP ports ${ports.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return { sfu, pool, stop: () => pool.stop() };
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
