/**
 * One media worker thread of the pool: spawning it, its readiness (protocol version checked),
 * requests to it with their timeouts, its answers and load reports, and stopping it. Its room
 * events and its exit are handed to the pool, which decides what they mean (merged speakers,
 * participants lost, a restart). Not the choice of worker for a participant (room-placement.ts)
 * and not the pool's restarts and channels between workers (media-worker-pool.ts).
 *
 * Lifecycle: spawn() → ready → send()… → exit (hooks.onExit; the pool may spawn() again) or stop().
 */

import { type MessagePort, Worker } from 'node:worker_threads';
import { SfuError, type SfuErrorCode } from '../lib/errors.ts';
import type { RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { addMediaReports, emptyMediaReport, type MediaWorkerReport } from '../lib/media-counters.ts';
import type { SfuEvent } from '../protocol/sfu-api.ts';
import {
  type ControlToWorker,
  type MediaWorkerData,
  WORKER_PROTOCOL_VERSION,
  type WorkerToControl,
} from './worker-protocol.ts';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface MediaWorkerSlotOptions {
  /** Module run in the worker thread. */
  workerUrl: URL;
  /** What the worker starts with (its index and UDP port among them). */
  data: MediaWorkerData;
  logger: Logger;
  requestTimeoutMs: number;
  /** Request ids, unique across the pool's workers. */
  nextId: () => number;
  /** A room event the worker reported. */
  onEvent: (slot: MediaWorkerSlot, roomId: RoomId, event: SfuEvent) => void;
  /** The running worker exited (crash, terminate or stop); its pending requests have failed. */
  onExit: (slot: MediaWorkerSlot, code: number) => void;
}

export class MediaWorkerSlot {
  readonly index: number;
  readonly port: number;
  worker: Worker | null = null;
  ready: Promise<void> = Promise.resolve();
  /** Participants homed here (across rooms). */
  participants = 0;
  restarts = 0;
  /** Datagrams per second the worker received and sent, from its last load report. */
  packetsPerSecond = 0;
  /** The running worker's last media report (counters since it started, gauges now). */
  #media: MediaWorkerReport | undefined;
  /** The counters of this slot's workers that exited (so its totals never go back at a restart). */
  #retired: MediaWorkerReport = emptyMediaReport();
  readonly #options: MediaWorkerSlotOptions;
  readonly #pending = new Map<number, Pending>();

  constructor(options: MediaWorkerSlotOptions) {
    this.#options = options;
    this.index = options.data.index;
    this.port = options.data.port;
  }

  /** False while the worker restarts (or once stopped): nothing is placed on it. */
  get running(): boolean {
    return this.worker !== null;
  }

  spawn(): void {
    const worker = new Worker(this.#options.workerUrl, {
      workerData: this.#options.data,
      name: `media-${this.index}`,
    });
    this.worker = worker;
    const ready = Promise.withResolvers<void>();
    this.ready = ready.promise;
    // A worker that dies before it is ready is reported through `exit`; nobody awaits this twice.
    ready.promise.catch(() => undefined);
    worker.on('message', (msg: WorkerToControl) => this.#onMessage(msg, ready));
    // What killed a worker (a port it could not bind, at start) goes into the exit's error too.
    let died: string | undefined;
    worker.on('error', (err) => {
      died = err instanceof Error ? err.message : String(err);
      this.#options.logger.error({ err, worker: this.index }, 'media worker error');
    });
    worker.on('exit', (code) => {
      const why = died === undefined ? '' : `: ${died}`;
      ready.reject(new SfuError('unavailable', `media worker ${this.index} exited with code ${code}${why}`));
      if (this.worker !== worker) return;
      this.worker = null;
      this.packetsPerSecond = 0;
      if (this.#media) this.#retired = addMediaReports(this.#retired, this.#media);
      this.#media = undefined;
      this.failPending('unavailable', 'media worker restarted');
      this.#options.onExit(this, code);
    });
  }

  /**
   * The media counters of this slot since the pool started (across restarts), and the gauges of
   * the running worker's last report (zero while it restarts).
   */
  mediaReport(): MediaWorkerReport {
    return addMediaReports(this.#retired, this.#media ?? emptyMediaReport());
  }

  /** Posts the message `build` makes with a fresh request id; settles with the worker's answer. */
  send(build: (id: number) => ControlToWorker, transfer?: MessagePort[]): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new SfuError('unavailable', 'media worker is restarting'));
    const id = this.#options.nextId();
    const timeoutMs = this.#options.requestTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new SfuError('unavailable', `media worker ${this.index} did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      worker.postMessage(build(id), transfer);
    });
  }

  failPending(code: SfuErrorCode, message: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new SfuError(code, message));
    }
    this.#pending.clear();
  }

  /**
   * Ends the thread at once (`Worker.terminate()`: no cleanup, no goodbye, exit code 1), as a
   * crash would; resolves once the exit was handled.
   */
  async terminate(): Promise<void> {
    const worker = this.worker;
    if (!worker) throw new SfuError('unavailable', `media worker ${this.index} is not running`);
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await worker.terminate();
    await exited;
  }

  /** Asks the worker to stop (terminated after 2 s) and resolves when it exited; requests fail. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failPending('unavailable', 'media workers stopped');
    if (!worker) return;
    worker.postMessage({ type: 'stop' } satisfies ControlToWorker);
    const timer = setTimeout(() => void worker.terminate(), 2000);
    await new Promise((resolve) => worker.once('exit', resolve));
    clearTimeout(timer);
  }

  #onMessage(msg: WorkerToControl, ready: PromiseWithResolvers<void>): void {
    switch (msg.type) {
      case 'ready':
        if (msg.version !== WORKER_PROTOCOL_VERSION) {
          ready.reject(
            new SfuError(
              'internal',
              `media worker speaks protocol ${msg.version}, expected ${WORKER_PROTOCOL_VERSION}`,
            ),
          );
          return;
        }
        ready.resolve();
        return;
      case 'response':
      case 'dump':
        this.#settle(msg);
        return;
      case 'event':
        this.#options.onEvent(this, msg.roomId, msg.event);
        return;
      case 'load':
        if (Number.isFinite(msg.packetsPerSecond) && msg.packetsPerSecond >= 0)
          this.packetsPerSecond = msg.packetsPerSecond;
        if (msg.media) this.#media = msg.media;
        return;
    }
  }

  #settle(msg: Extract<WorkerToControl, { type: 'response' | 'dump' }>): void {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    clearTimeout(pending.timer);
    if (msg.type === 'dump') pending.resolve(msg.dump);
    else if (msg.ok) pending.resolve(msg.result);
    else pending.reject(new SfuError(msg.error.code as SfuErrorCode, msg.error.message));
  }
}
