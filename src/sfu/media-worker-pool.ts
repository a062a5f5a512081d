import { Worker } from 'node:worker_threads';
import { SfuError, type SfuErrorCode } from '../lib/errors.ts';
import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { SfuDump, SfuEvent } from '../protocol/sfu-api.ts';
import {
  type ControlToWorker,
  type MediaWorkerData,
  WORKER_PROTOCOL_VERSION,
  type WorkerOperation,
  type WorkerToControl,
} from './worker-protocol.ts';

export interface MediaWorkerPoolOptions {
  /** Module run in each worker thread (src/sfu/media/worker-main.ts in production). */
  workerUrl: URL;
  /** One UDP port per worker; the pool starts as many workers as ports. */
  ports: number[];
  announcedIps: string[];
  nodeId: string;
  logLevel: string;
  logger: Logger;
  requestTimeoutMs?: number;
  /** ICE consent freshness timeout of the workers' transports (default 30 s, RFC 7675). */
  iceConsentTimeoutMs?: number;
  /** Room events from every worker, and the participants lost when a worker died. */
  onEvent: (roomId: RoomId, event: SfuEvent) => void;
}

/** Pools started in this process and not yet stopped (see runningMediaWorkerPools). */
const running = new Set<MediaWorkerPool>();

/**
 * The media worker pools of this process that are running. This is how fault-injection tests
 * reach the workers behind a server's SfuApi (`terminateWorker`); nothing in the server uses it.
 */
export function runningMediaWorkerPools(): MediaWorkerPool[] {
  return [...running];
}

interface Slot {
  index: number;
  port: number;
  worker: Worker | null;
  ready: Promise<void>;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>;
  rooms: Set<RoomId>;
  participants: number;
  restarts: number;
}

/**
 * The media workers of one SFU process: one thread per port. Rooms are pinned to a worker (the
 * least loaded when the room is first used). A worker that dies is restarted; only its rooms are
 * affected: their requests fail with 'unavailable' and their participants are reported lost so
 * that signalling tells them to reconnect.
 *
 * Lifecycle: start() → requests… → stop(). Once stopped, requests fail.
 */
export class MediaWorkerPool {
  readonly #options: MediaWorkerPoolOptions;
  readonly #slots: Slot[];
  readonly #roomSlot = new Map<RoomId, Slot>();
  readonly #roomParticipants = new Map<RoomId, Set<ParticipantId>>();
  #nextId = 0;
  #stopped = false;

  constructor(options: MediaWorkerPoolOptions) {
    if (options.ports.length === 0) throw new TypeError('MediaWorkerPool needs at least one port');
    this.#options = options;
    this.#slots = options.ports.map((port, index) => ({
      index,
      port,
      worker: null,
      ready: Promise.resolve(),
      pending: new Map(),
      rooms: new Set(),
      participants: 0,
      restarts: 0,
    }));
  }

  async start(): Promise<void> {
    running.add(this);
    for (const slot of this.#slots) this.#spawn(slot);
    await Promise.all(this.#slots.map((s) => s.ready));
  }

  get workerCount(): number {
    return this.#slots.length;
  }

  /** Runs an operation on the worker hosting `roomId` (placing the room first if new). */
  async request(roomId: RoomId, op: WorkerOperation, args: unknown): Promise<unknown> {
    const slot = this.#slotFor(roomId);
    await slot.ready;
    return this.#send(slot, (id) => ({ type: 'request', id, op, args }));
  }

  /** Tracks membership so that a worker crash can name who was lost. */
  participantJoined(roomId: RoomId, participantId: ParticipantId): void {
    let set = this.#roomParticipants.get(roomId);
    if (!set) {
      set = new Set();
      this.#roomParticipants.set(roomId, set);
    }
    if (!set.has(participantId)) {
      set.add(participantId);
      const slot = this.#roomSlot.get(roomId);
      if (slot) slot.participants++;
    }
  }

  participantLeft(roomId: RoomId, participantId: ParticipantId): void {
    const set = this.#roomParticipants.get(roomId);
    if (!set?.delete(participantId)) return;
    const slot = this.#roomSlot.get(roomId);
    if (slot) slot.participants--;
    if (set.size === 0) {
      this.#roomParticipants.delete(roomId);
      slot?.rooms.delete(roomId);
      this.#roomSlot.delete(roomId);
    }
  }

  async dump(): Promise<SfuDump> {
    const dumps = await Promise.all(
      this.#slots.map(async (slot) => {
        await slot.ready;
        return (await this.#send(slot, (id) => ({ type: 'dump', id }))) as SfuDump;
      }),
    );
    const sum = (pick: (d: SfuDump) => number) => dumps.reduce((n, d) => n + pick(d), 0);
    return {
      rooms: dumps.flatMap((d) => d.rooms),
      transports: sum((d) => d.transports),
      dropped: {
        malformed: sum((d) => d.dropped.malformed),
        unknownAddress: sum((d) => d.dropped.unknownAddress),
        unknownUsername: sum((d) => d.dropped.unknownUsername),
      },
    };
  }

  /** Where each room lives and how loaded each worker is (for the admin view and tests). */
  placement(): Array<{
    index: number;
    port: number;
    rooms: RoomId[];
    participants: number;
    restarts: number;
  }> {
    return this.#slots.map((s) => ({
      index: s.index,
      port: s.port,
      rooms: [...s.rooms],
      participants: s.participants,
      restarts: s.restarts,
    }));
  }

  /**
   * Ends worker `index`'s thread at once (`Worker.terminate()`: no cleanup, no goodbye, exit code
   * 1), as a crash would, and resolves once the pool has handled the exit: the worker is being
   * restarted and the participants of its rooms have been reported lost. For fault-injection
   * tests (and an operator's last resort); not part of SfuApi.
   */
  async terminateWorker(index: number): Promise<void> {
    const slot = this.#slots[index];
    if (!slot) throw new RangeError(`no media worker ${index} (there are ${this.#slots.length})`);
    const worker = slot.worker;
    if (!worker) throw new SfuError('unavailable', `media worker ${index} is not running`);
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await worker.terminate();
    await exited;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    running.delete(this);
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = null;
        this.#failPending(slot, 'unavailable', 'media workers stopped');
        if (!worker) return;
        worker.postMessage({ type: 'stop' } satisfies ControlToWorker);
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await new Promise((resolve) => worker.once('exit', resolve));
        clearTimeout(timer);
      }),
    );
  }

  #slotFor(roomId: RoomId): Slot {
    if (this.#stopped) throw new SfuError('unavailable', 'media workers stopped');
    let slot = this.#roomSlot.get(roomId);
    if (!slot) {
      // New rooms go to the worker with the fewest participants (then the fewest rooms).
      slot = [...this.#slots].sort(
        (a, b) => a.participants - b.participants || a.rooms.size - b.rooms.size,
      )[0]!;
      slot.rooms.add(roomId);
      this.#roomSlot.set(roomId, slot);
    }
    return slot;
  }

  #send(slot: Slot, build: (id: number) => ControlToWorker): Promise<unknown> {
    const worker = slot.worker;
    if (!worker) return Promise.reject(new SfuError('unavailable', 'media worker is restarting'));
    const id = ++this.#nextId;
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        reject(
          new SfuError('unavailable', `media worker ${slot.index} did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      slot.pending.set(id, { resolve, reject, timer });
      worker.postMessage(build(id));
    });
  }

  #spawn(slot: Slot): void {
    const data: MediaWorkerData = {
      index: slot.index,
      port: slot.port,
      announcedIps: this.#options.announcedIps,
      nodeId: this.#options.nodeId,
      logLevel: this.#options.logLevel,
      iceConsentTimeoutMs: this.#options.iceConsentTimeoutMs ?? 30_000,
    };
    const worker = new Worker(this.#options.workerUrl, { workerData: data, name: `media-${slot.index}` });
    slot.worker = worker;
    const ready = Promise.withResolvers<void>();
    slot.ready = ready.promise;
    // A worker that dies before it is ready is reported through `exit`; nobody awaits this twice.
    ready.promise.catch(() => undefined);
    worker.on('message', (msg: WorkerToControl) => this.#onMessage(slot, msg, ready));
    worker.on('error', (err) =>
      this.#options.logger.error({ err, worker: slot.index }, 'media worker error'),
    );
    worker.on('exit', (code) => {
      ready.reject(new SfuError('unavailable', `media worker ${slot.index} exited with code ${code}`));
      this.#onExit(slot, worker, code);
    });
  }

  #onMessage(slot: Slot, msg: WorkerToControl, ready: PromiseWithResolvers<void>): void {
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
      case 'dump': {
        const pending = slot.pending.get(msg.id);
        if (!pending) return;
        slot.pending.delete(msg.id);
        clearTimeout(pending.timer);
        if (msg.type === 'dump') pending.resolve(msg.dump);
        else if (msg.ok) pending.resolve(msg.result);
        else pending.reject(new SfuError(msg.error.code as SfuErrorCode, msg.error.message));
        return;
      }
      case 'event':
        this.#options.onEvent(msg.roomId, msg.event);
        return;
      case 'load':
        return;
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    this.#failPending(slot, 'unavailable', 'media worker restarted');
    if (this.#stopped) return;
    this.#options.logger.error(
      { worker: slot.index, code, rooms: slot.rooms.size },
      'media worker died; restarting it',
    );
    const rooms = [...slot.rooms];
    slot.rooms.clear();
    slot.participants = 0;
    slot.restarts++;
    for (const roomId of rooms) {
      this.#roomSlot.delete(roomId);
      const lost = this.#roomParticipants.get(roomId) ?? new Set();
      this.#roomParticipants.delete(roomId);
      for (const participantId of lost) {
        this.#options.onEvent(roomId, { type: 'participantLost', participantId, reason: 'worker_restarted' });
      }
    }
    this.#spawn(slot);
  }

  #failPending(slot: Slot, code: SfuErrorCode, message: string): void {
    for (const pending of slot.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new SfuError(code, message));
    }
    slot.pending.clear();
  }
}
