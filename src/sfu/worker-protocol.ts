import type { RoomId } from '../lib/ids.ts';
import type { SfuApi, SfuDump, SfuEvent } from '../protocol/sfu-api.ts';

/**
 * Messages between the SFU's control side (main thread) and a media worker. Versioned: a worker
 * of another version is refused at start rather than misread.
 */
export const WORKER_PROTOCOL_VERSION = 1;

/** The SfuApi operations a worker serves (everything but the event stream and dump). */
export type WorkerOperation = Exclude<keyof SfuApi, 'events' | 'dump'>;

export type ControlToWorker =
  | { type: 'request'; id: number; op: WorkerOperation; args: unknown }
  | { type: 'dump'; id: number }
  | { type: 'stop' };

export type WorkerToControl =
  | { type: 'ready'; version: number; port: number }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: { code: string; message: string } }
  | { type: 'dump'; id: number; dump: SfuDump }
  | { type: 'event'; roomId: RoomId; event: SfuEvent }
  | { type: 'load'; participants: number; packetsPerSecond: number };

/** What a worker is started with (workerData). */
export interface MediaWorkerData {
  index: number;
  /** UDP port this worker binds (one per worker, all peers share it). */
  port: number;
  /** Addresses written into ICE candidates. */
  announcedIps: string[];
  nodeId: string;
  logLevel: string;
  /** A transport whose peer sent no valid ICE check for this long is closed (consent freshness). */
  iceConsentTimeoutMs: number;
}
