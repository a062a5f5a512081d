import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { SfuError, type SfuErrorCode } from '../lib/errors.ts';
import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { ActiveSpeakerInfo, SfuDump, SfuEvent } from '../protocol/sfu-api.ts';
import type { PublisherTap } from './egress-backend.ts';
import type { RelayedTrack } from './media/relay.ts';
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
  /** Passive ICE-TCP port of each worker (same order as `ports`); undefined: no ICE-TCP. */
  tcpPorts?: number[] | undefined;
  /** Announce UDP candidates (default true). */
  udpCandidates?: boolean | undefined;
  announcedIps: string[];
  nodeId: string;
  logLevel: string;
  logger: Logger;
  requestTimeoutMs?: number;
  /** ICE consent freshness timeout of the workers' transports (default 30 s, RFC 7675). */
  iceConsentTimeoutMs?: number;
  /**
   * A room keeps placing participants on the workers it already uses until each holds this many
   * of its participants; the next one goes to another (the least loaded) worker, and the room
   * spans both (packets handed over between them). Default 50.
   */
  roomParticipantsPerWorker?: number;
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
  /** Participants homed here (across rooms). */
  participants: number;
  restarts: number;
  /** Datagrams per second the worker received and sent, from its last load report. */
  packetsPerSecond: number;
}

export const DEFAULT_ROOM_PARTICIPANTS_PER_WORKER = 50;

/** What placement looks at of a worker. */
export interface WorkerLoad {
  index: number;
  /** Participants homed on the worker, all rooms. */
  participants: number;
  /** Rooms with participants on the worker. */
  rooms: number;
  /** Participants of the room being placed that are homed on the worker. */
  inRoom: number;
  /** False while the worker restarts: nothing is placed on it. */
  up?: boolean;
}

/**
 * The active speakers of a room spanning workers from each worker's latest list (each knows only
 * its own publishers): loudest first; one worker's list as it is.
 */
export function mergeActiveSpeakers(byWorker: ReadonlyMap<number, ActiveSpeakerInfo[]>): ActiveSpeakerInfo[] {
  if (byWorker.size === 1) return [...byWorker.values()][0]!;
  return [...byWorker.values()].flat().sort((a, b) => b.level - a.level);
}

/**
 * Which worker a participant joining a room goes to. A room stays on the workers it already uses
 * while one of them holds fewer than `cap` of its participants (the least loaded of those); a new
 * room, or one whose workers are all full, goes to the least-loaded other worker (fewest
 * participants, then fewest rooms, then lowest index). When every worker holds `cap` of the
 * room, the least loaded overall takes it anyway. Returns the worker's index.
 */
export function choosePlacement(workers: readonly WorkerLoad[], cap: number): number {
  const candidates = workers.filter((w) => w.up !== false);
  const pool = candidates.length > 0 ? candidates : workers;
  if (pool.length === 0) throw new RangeError('no workers to place on');
  const byLoad = (a: WorkerLoad, b: WorkerLoad) =>
    a.participants - b.participants || a.rooms - b.rooms || a.index - b.index;
  const inUse = pool.filter((w) => w.inRoom > 0 && w.inRoom < cap).sort(byLoad);
  if (inUse.length > 0) return inUse[0]!.index;
  const fresh = pool.filter((w) => w.inRoom === 0).sort(byLoad);
  if (fresh.length > 0) return fresh[0]!.index;
  return [...pool].sort(byLoad)[0]!.index;
}

/**
 * The media workers of one SFU process: one thread per port, joined pairwise by MessageChannels.
 * Each participant has a home worker (its publisher connection and its subscriber connections
 * live there), chosen when it first joins or subscribes (choosePlacement): a room fills the
 * workers it uses up to `roomParticipantsPerWorker` participants each, then spans another one.
 * A subscribe to a publisher homed elsewhere asks the publisher's worker to describe it
 * (`exportPublisher`) and hands that to the subscriber's worker, which then has the packets
 * relayed to it in batches (media/relay.ts).
 *
 * A worker that dies is restarted; only the participants homed on it are affected: their requests
 * fail with 'unavailable' and they are reported lost so that signalling tells them to reconnect;
 * the surviving workers drop what they relayed to or from it.
 *
 * Lifecycle: start() → requests… → stop(). Once stopped, requests fail.
 */
export class MediaWorkerPool {
  readonly #options: MediaWorkerPoolOptions;
  readonly #slots: Slot[];
  readonly #cap: number;
  /** Room → participant → home worker, in the order they were placed. */
  readonly #homes = new Map<RoomId, Map<ParticipantId, Slot>>();
  /** `${roomId}/${participantId}` of homes a request has succeeded on (a crash reports these lost). */
  readonly #confirmed = new Set<string>();
  /** Active speakers last reported by each worker of a room spanning several (merged for the room). */
  readonly #speakers = new Map<RoomId, Map<number, ActiveSpeakerInfo[]>>();
  #nextId = 0;
  #stopped = false;

  constructor(options: MediaWorkerPoolOptions) {
    if (options.ports.length === 0) throw new TypeError('MediaWorkerPool needs at least one port');
    const cap = options.roomParticipantsPerWorker ?? DEFAULT_ROOM_PARTICIPANTS_PER_WORKER;
    if (!Number.isInteger(cap) || cap < 1)
      throw new RangeError(`roomParticipantsPerWorker must be a positive integer, got ${cap}`);
    this.#cap = cap;
    this.#options = options;
    this.#slots = options.ports.map((port, index) => ({
      index,
      port,
      worker: null,
      ready: Promise.resolve(),
      pending: new Map(),
      participants: 0,
      restarts: 0,
      packetsPerSecond: 0,
    }));
  }

  async start(): Promise<void> {
    running.add(this);
    for (const slot of this.#slots) this.#spawn(slot);
    await Promise.all(this.#slots.map((s) => s.ready));
    for (let i = 0; i < this.#slots.length; i++)
      for (let j = i + 1; j < this.#slots.length; j++) this.#connect(this.#slots[i]!, this.#slots[j]!);
  }

  get workerCount(): number {
    return this.#slots.length;
  }

  /**
   * Runs an operation of participant `args.participantId` on its home worker: `join` and
   * `subscribe` place a participant that has none; a `subscribe` to a publisher homed on another
   * worker carries that publisher's description (the relay starts from it).
   */
  async request(roomId: RoomId, op: WorkerOperation, args: unknown): Promise<unknown> {
    if (this.#stopped) throw new SfuError('unavailable', 'media workers stopped');
    const participantId = (args as { participantId?: ParticipantId } | null)?.participantId;
    const placing = op === 'join' || op === 'subscribe';
    const home = participantId === undefined ? undefined : this.#homes.get(roomId)?.get(participantId);
    if (!home && op === 'leave') {
      // No home (lost to a consent timeout, or never placed): whatever a worker still holds of it
      // (subscriber connections outliving its publisher) goes wherever it is.
      await Promise.all(
        this.#slots
          .filter((s) => s.worker !== null)
          .map((s) =>
            s.ready
              .then(() => this.#send(s, (id) => ({ type: 'request', id, op, args })))
              .catch(() => undefined),
          ),
      );
      return null;
    }
    const slot =
      home ??
      (placing && participantId !== undefined ? this.#place(roomId, participantId) : this.#anySlot(roomId));
    try {
      await slot.ready;
      let sent = args;
      if (op === 'subscribe') {
        const targetId = (args as { targetId?: ParticipantId }).targetId;
        const target = targetId === undefined ? undefined : this.#homes.get(roomId)?.get(targetId);
        if (target && target !== slot) {
          await target.ready;
          const publisher = await this.#send(target, (id) => ({
            type: 'request',
            id,
            op: 'exportPublisher',
            args: { roomId, participantId: targetId },
          }));
          sent = { ...(args as object), remote: { fromWorker: target.index, publisher } };
        }
      }
      const result = await this.#send(slot, (id) => ({ type: 'request', id, op, args: sent }));
      if (participantId !== undefined && this.#homes.get(roomId)?.get(participantId) === slot)
        this.#confirmed.add(`${roomId}/${participantId}`);
      return result;
    } catch (err) {
      // A participant placed by a request that failed has no media here: forget the placement.
      if (!home && placing && participantId !== undefined && op === 'join')
        this.participantLeft(roomId, participantId);
      throw err;
    }
  }

  /** Runs an operation on every running worker (a room's parts, wherever they are); their answers. */
  async requestAll(op: WorkerOperation, args: unknown): Promise<unknown[]> {
    if (this.#stopped) throw new SfuError('unavailable', 'media workers stopped');
    const running = this.#slots.filter((s) => s.worker !== null);
    return Promise.all(
      running.map(async (s) => {
        await s.ready;
        return this.#send(s, (id) => ({ type: 'request', id, op, args }));
      }),
    );
  }

  /** Kept for callers that confirm a join; placement already happened in request(). */
  participantJoined(roomId: RoomId, participantId: ParticipantId): void {
    if (!this.#homes.get(roomId)?.has(participantId)) this.#place(roomId, participantId);
    this.#confirmed.add(`${roomId}/${participantId}`);
  }

  participantLeft(roomId: RoomId, participantId: ParticipantId): void {
    const homes = this.#homes.get(roomId);
    const slot = homes?.get(participantId);
    if (!homes || !slot) return;
    homes.delete(participantId);
    this.#confirmed.delete(`${roomId}/${participantId}`);
    slot.participants--;
    if (![...homes.values()].includes(slot)) this.#speakers.get(roomId)?.delete(slot.index);
    if (homes.size === 0) {
      this.#homes.delete(roomId);
      this.#speakers.delete(roomId);
    }
  }

  /**
   * Attaches an egress tap to a publisher's tracks on the worker hosting it: a MessageChannel
   * whose other end goes to that worker (egress-backend.ts says what travels on it).
   */
  async tap(roomId: RoomId, participantId: ParticipantId): Promise<PublisherTap> {
    if (this.#stopped) throw new SfuError('unavailable', 'media workers stopped');
    const slot = this.#homes.get(roomId)?.get(participantId);
    if (!slot) throw new SfuError('not_found', `participant ${participantId} is not in room ${roomId}`);
    await slot.ready;
    const { port1, port2 } = new MessageChannel();
    try {
      const tracks = (await this.#send(
        slot,
        (id) => ({ type: 'tap', id, roomId, participantId, port: port2 }),
        [port2],
      )) as RelayedTrack[];
      return { participantId, tracks, port: port1 };
    } catch (err) {
      port1.close();
      throw err;
    }
  }

  /** Whether any participant of the room is placed on a worker. */
  hasRoom(roomId: RoomId): boolean {
    return this.#homes.has(roomId);
  }

  /** The worker index a participant is homed on (undefined when it has none). */
  homeOf(roomId: RoomId, participantId: ParticipantId): number | undefined {
    return this.#homes.get(roomId)?.get(participantId)?.index;
  }

  async dump(): Promise<SfuDump> {
    const dumps = await Promise.all(
      this.#slots.map(async (slot) => {
        await slot.ready;
        return (await this.#send(slot, (id) => ({ type: 'dump', id }))) as SfuDump;
      }),
    );
    const sum = (pick: (d: SfuDump) => number) => dumps.reduce((n, d) => n + pick(d), 0);
    // A room spanning workers appears once, with its parts added up and its workers named.
    const rooms = new Map<RoomId, SfuDump['rooms'][number]>();
    dumps.forEach((d, index) => {
      for (const part of d.rooms) {
        const room = rooms.get(part.roomId);
        if (!room) {
          rooms.set(part.roomId, {
            ...part,
            participants: [...part.participants],
            workers: [index],
            relays: part.relays ?? 0,
            remoteTracks: part.remoteTracks ?? 0,
            taps: part.taps ?? 0,
          });
          continue;
        }
        room.participants = [...new Set([...room.participants, ...part.participants])];
        room.publishers += part.publishers;
        room.subscriptions += part.subscriptions;
        room.downTracks += part.downTracks;
        room.relays = (room.relays ?? 0) + (part.relays ?? 0);
        room.remoteTracks = (room.remoteTracks ?? 0) + (part.remoteTracks ?? 0);
        room.taps = (room.taps ?? 0) + (part.taps ?? 0);
        room.workers = [...(room.workers ?? []), index];
      }
    });
    return {
      rooms: [...rooms.values()],
      transports: sum((d) => d.transports),
      dropped: {
        malformed: sum((d) => d.dropped.malformed),
        unknownAddress: sum((d) => d.dropped.unknownAddress),
        unknownUsername: sum((d) => d.dropped.unknownUsername),
      },
      handover: {
        batchesSent: sum((d) => d.handover?.batchesSent ?? 0),
        packetsSent: sum((d) => d.handover?.packetsSent ?? 0),
        batchesReceived: sum((d) => d.handover?.batchesReceived ?? 0),
        packetsReceived: sum((d) => d.handover?.packetsReceived ?? 0),
        malformed: sum((d) => d.handover?.malformed ?? 0),
        unknownTrack: sum((d) => d.handover?.unknownTrack ?? 0),
      },
      data: { relayed: sum((d) => d.data?.relayed ?? 0), refused: sum((d) => d.data?.refused ?? 0) },
      iceTcp: {
        connections: sum((d) => d.iceTcp?.connections ?? 0),
        framingErrors: sum((d) => d.iceTcp?.framingErrors ?? 0),
        rtpDropped: sum((d) => d.iceTcp?.rtpDropped ?? 0),
        otherDropped: sum((d) => d.iceTcp?.otherDropped ?? 0),
      },
    };
  }

  /** Where each room's participants live and how loaded each worker is (for the admin view and tests). */
  placement(): Array<{
    index: number;
    port: number;
    rooms: RoomId[];
    participants: number;
    restarts: number;
    packetsPerSecond: number;
  }> {
    return this.#slots.map((s) => ({
      index: s.index,
      port: s.port,
      rooms: this.#roomsOf(s),
      participants: s.participants,
      restarts: s.restarts,
      packetsPerSecond: s.packetsPerSecond,
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

  #roomsOf(slot: Slot): RoomId[] {
    const rooms: RoomId[] = [];
    for (const [roomId, homes] of this.#homes) if ([...homes.values()].includes(slot)) rooms.push(roomId);
    return rooms;
  }

  /** Gives the participant a home worker (choosePlacement) and counts it there. */
  #place(roomId: RoomId, participantId: ParticipantId): Slot {
    let homes = this.#homes.get(roomId);
    if (!homes) {
      homes = new Map();
      this.#homes.set(roomId, homes);
    }
    const inRoom = new Map<Slot, number>();
    for (const s of homes.values()) inRoom.set(s, (inRoom.get(s) ?? 0) + 1);
    const roomCounts = new Map<Slot, number>();
    for (const [, h] of this.#homes)
      for (const s of new Set(h.values())) roomCounts.set(s, (roomCounts.get(s) ?? 0) + 1);
    const index = choosePlacement(
      this.#slots.map((s) => ({
        index: s.index,
        participants: s.participants,
        rooms: roomCounts.get(s) ?? 0,
        inRoom: inRoom.get(s) ?? 0,
        up: s.worker !== null,
      })),
      this.#cap,
    );
    const slot = this.#slots[index]!;
    homes.set(participantId, slot);
    slot.participants++;
    return slot;
  }

  /** For an operation of someone without a home: a worker of the room (it answers not found), else the first. */
  #anySlot(roomId: RoomId): Slot {
    const homes = this.#homes.get(roomId);
    return homes?.values().next().value ?? this.#slots[0]!;
  }

  /** A MessageChannel between two running workers: each gets one end (relays between them). */
  #connect(a: Slot, b: Slot): void {
    if (!a.worker || !b.worker) return;
    const { port1, port2 } = new MessageChannel();
    a.worker.postMessage({ type: 'peer', index: b.index, port: port1 } satisfies ControlToWorker, [port1]);
    b.worker.postMessage({ type: 'peer', index: a.index, port: port2 } satisfies ControlToWorker, [port2]);
  }

  /** Active speakers of a room spanning workers: each worker knows its own publishers; merged here. */
  #mergeSpeakers(slot: Slot, roomId: RoomId, speakers: ActiveSpeakerInfo[]): ActiveSpeakerInfo[] {
    let byWorker = this.#speakers.get(roomId);
    if (!byWorker) {
      byWorker = new Map();
      this.#speakers.set(roomId, byWorker);
    }
    byWorker.set(slot.index, speakers);
    return mergeActiveSpeakers(byWorker);
  }

  #send(slot: Slot, build: (id: number) => ControlToWorker, transfer?: MessagePort[]): Promise<unknown> {
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
      worker.postMessage(build(id), transfer);
    });
  }

  #spawn(slot: Slot): void {
    const data: MediaWorkerData = {
      index: slot.index,
      port: slot.port,
      tcpPort: this.#options.tcpPorts?.[slot.index],
      udpCandidates: this.#options.udpCandidates ?? true,
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
        if (msg.event.type === 'activeSpeakers')
          this.#options.onEvent(msg.roomId, {
            type: 'activeSpeakers',
            speakers: this.#mergeSpeakers(slot, msg.roomId, msg.event.speakers),
          });
        else this.#options.onEvent(msg.roomId, msg.event);
        return;
      case 'load':
        if (Number.isFinite(msg.packetsPerSecond) && msg.packetsPerSecond >= 0)
          slot.packetsPerSecond = msg.packetsPerSecond;
        return;
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.packetsPerSecond = 0;
    this.#failPending(slot, 'unavailable', 'media worker restarted');
    if (this.#stopped) return;
    this.#options.logger.error(
      { worker: slot.index, code, participants: slot.participants },
      'media worker died; restarting it',
    );
    slot.restarts++;
    // The others drop what they relayed to or from it before anyone hears of the loss.
    for (const other of this.#slots)
      if (other !== slot)
        other.worker?.postMessage({ type: 'peerDown', index: slot.index } satisfies ControlToWorker);
    const homed: Array<[RoomId, ParticipantId, boolean]> = [];
    for (const [roomId, homes] of this.#homes)
      for (const [pid, s] of homes)
        if (s === slot) homed.push([roomId, pid, this.#confirmed.has(`${roomId}/${pid}`)]);
    for (const [roomId, participantId] of homed) this.participantLeft(roomId, participantId);
    slot.participants = 0;
    // Those whose request was still running hear it failed; the others are told they were lost.
    for (const [roomId, participantId, confirmed] of homed)
      if (confirmed)
        this.#options.onEvent(roomId, { type: 'participantLost', participantId, reason: 'worker_restarted' });
    this.#spawn(slot);
    // Once it is back, it gets a channel to every running worker.
    slot.ready.then(
      () => {
        for (const other of this.#slots) if (other !== slot) this.#connect(slot, other);
      },
      () => undefined,
    );
  }

  #failPending(slot: Slot, code: SfuErrorCode, message: string): void {
    for (const pending of slot.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new SfuError(code, message));
    }
    slot.pending.clear();
  }
}
