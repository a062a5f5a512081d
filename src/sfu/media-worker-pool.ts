import { MessageChannel } from 'node:worker_threads';
import { SfuError } from '../lib/errors.ts';
import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { MediaWorkerSnapshot } from '../lib/media-counters.ts';
import type { ActiveSpeakerInfo, SfuDump, SfuEvent } from '../protocol/sfu-api.ts';
import type { PublisherTap } from './egress-backend.ts';
import type { RelayedTrack } from './media/relay.ts';
import type { RoomCodecPolicy } from './media/room-codecs.ts';
import { MediaWorkerSlot } from './media-worker-slot.ts';
import { mergeActiveSpeakers, mergeWorkerDumps } from './merge-worker-reports.ts';
import { DEFAULT_ROOM_PARTICIPANTS_PER_WORKER, RoomPlacement } from './room-placement.ts';
import type { ControlToWorker, WorkerOperation } from './worker-protocol.ts';

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
  /** IPv6 addresses each worker announces on an IPv6 socket of its own (default none). */
  announcedIps6?: string[] | undefined;
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
  /** How a publisher's video codec is chosen (media/room-codecs.ts); default `auto`. */
  roomCodecPolicy?: RoomCodecPolicy | undefined;
  /** Nice value each worker thread asks for (media/worker-priority.ts); default 0 (unchanged). */
  workerNice?: number | undefined;
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
 * Each worker is a MediaWorkerSlot (media-worker-slot.ts), the homes are a RoomPlacement
 * (room-placement.ts) and the workers' reports are merged by merge-worker-reports.ts.
 *
 * Lifecycle: start() → requests… → stop(). Once stopped, requests fail.
 */
export class MediaWorkerPool {
  readonly #options: MediaWorkerPoolOptions;
  readonly #slots: MediaWorkerSlot[];
  readonly #placement: RoomPlacement<MediaWorkerSlot>;
  /** Active speakers last reported by each worker of a room spanning several (merged for the room). */
  readonly #speakers = new Map<RoomId, Map<number, ActiveSpeakerInfo[]>>();
  #nextId = 0;
  #stopped = false;

  constructor(options: MediaWorkerPoolOptions) {
    if (options.ports.length === 0) throw new TypeError('MediaWorkerPool needs at least one port');
    this.#options = options;
    this.#slots = options.ports.map((port, index) => this.#newSlot(index, port));
    this.#placement = new RoomPlacement(
      this.#slots,
      options.roomParticipantsPerWorker ?? DEFAULT_ROOM_PARTICIPANTS_PER_WORKER,
    );
  }

  async start(): Promise<void> {
    running.add(this);
    for (const slot of this.#slots) slot.spawn();
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
    // A viewer's ICE restart is of a connection it has: it places nobody, and its publisher is known.
    const restart = op === 'subscribe' && (args as { iceRestart?: boolean }).iceRestart === true;
    const placing = op === 'join' || (op === 'subscribe' && !restart);
    const home = participantId === undefined ? undefined : this.#placement.home(roomId, participantId);
    if (!home && op === 'leave') return this.#leaveEverywhere(op, args);
    const slot =
      home ??
      (placing && participantId !== undefined
        ? this.#placement.place(roomId, participantId)
        : this.#placement.anyWorker(roomId));
    try {
      await slot.ready;
      const sent = placing && op === 'subscribe' ? await this.#withRemotePublisher(roomId, slot, args) : args;
      const result = await slot.send((id) => ({ type: 'request', id, op, args: sent }));
      if (participantId !== undefined && this.#placement.home(roomId, participantId) === slot)
        this.#placement.confirm(roomId, participantId);
      return result;
    } catch (err) {
      // A participant placed by a request that failed has no media here: forget the placement.
      if (!home && placing && participantId !== undefined && op === 'join')
        this.participantLeft(roomId, participantId);
      throw err;
    }
  }

  /**
   * No home (lost to a consent timeout, or never placed): whatever a worker still holds of it
   * (subscriber connections outliving its publisher) goes wherever it is.
   */
  async #leaveEverywhere(op: WorkerOperation, args: unknown): Promise<null> {
    await Promise.all(
      this.#slots
        .filter((s) => s.worker !== null)
        .map((s) =>
          s.ready.then(() => s.send((id) => ({ type: 'request', id, op, args }))).catch(() => undefined),
        ),
    );
    return null;
  }

  /** A subscribe to a publisher homed on another worker carries that publisher's description. */
  async #withRemotePublisher(roomId: RoomId, slot: MediaWorkerSlot, args: unknown): Promise<unknown> {
    const targetId = (args as { targetId?: ParticipantId }).targetId;
    const target = targetId === undefined ? undefined : this.#placement.home(roomId, targetId);
    if (!target || target === slot) return args;
    await target.ready;
    const publisher = await target.send((id) => ({
      type: 'request',
      id,
      op: 'exportPublisher',
      args: { roomId, participantId: targetId },
    }));
    return { ...(args as object), remote: { fromWorker: target.index, publisher } };
  }

  /** Runs an operation on every running worker (a room's parts, wherever they are); their answers. */
  async requestAll(op: WorkerOperation, args: unknown): Promise<unknown[]> {
    if (this.#stopped) throw new SfuError('unavailable', 'media workers stopped');
    const running = this.#slots.filter((s) => s.worker !== null);
    return Promise.all(
      running.map(async (s) => {
        await s.ready;
        return s.send((id) => ({ type: 'request', id, op, args }));
      }),
    );
  }

  /** Kept for callers that confirm a join; placement already happened in request(). */
  participantJoined(roomId: RoomId, participantId: ParticipantId): void {
    if (!this.#placement.home(roomId, participantId)) this.#placement.place(roomId, participantId);
    this.#placement.confirm(roomId, participantId);
  }

  participantLeft(roomId: RoomId, participantId: ParticipantId): void {
    const removed = this.#placement.remove(roomId, participantId);
    if (!removed) return;
    if (removed.workerLeftRoom) this.#speakers.get(roomId)?.delete(removed.worker.index);
    if (removed.roomGone) this.#speakers.delete(roomId);
  }

  /**
   * Attaches an egress tap to a publisher's tracks on the worker hosting it: a MessageChannel
   * whose other end goes to that worker (egress-backend.ts says what travels on it).
   */
  async tap(roomId: RoomId, participantId: ParticipantId): Promise<PublisherTap> {
    if (this.#stopped) throw new SfuError('unavailable', 'media workers stopped');
    const slot = this.#placement.home(roomId, participantId);
    if (!slot) throw new SfuError('not_found', `participant ${participantId} is not in room ${roomId}`);
    await slot.ready;
    const { port1, port2 } = new MessageChannel();
    try {
      const tracks = (await slot.send(
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
    return this.#placement.hasRoom(roomId);
  }

  /** The worker index a participant is homed on (undefined when it has none). */
  homeOf(roomId: RoomId, participantId: ParticipantId): number | undefined {
    return this.#placement.home(roomId, participantId)?.index;
  }

  async dump(): Promise<SfuDump> {
    const dumps = await Promise.all(
      this.#slots.map(async (slot) => {
        await slot.ready;
        return (await slot.send((id) => ({ type: 'dump', id }))) as SfuDump;
      }),
    );
    return mergeWorkerDumps(dumps);
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
      rooms: this.#placement.roomsOf(s),
      participants: s.participants,
      restarts: s.restarts,
      packetsPerSecond: s.packetsPerSecond,
    }));
  }

  /** Each worker's media report (counters since the pool started, gauges now) and its restarts. */
  mediaReports(): MediaWorkerSnapshot[] {
    return this.#slots.map((s) => ({ worker: s.index, restarts: s.restarts, report: s.mediaReport() }));
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
    await slot.terminate();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    running.delete(this);
    await Promise.all(this.#slots.map((slot) => slot.stop()));
  }

  #newSlot(index: number, port: number): MediaWorkerSlot {
    const options = this.#options;
    return new MediaWorkerSlot({
      workerUrl: options.workerUrl,
      data: {
        index,
        port,
        tcpPort: options.tcpPorts?.[index],
        udpCandidates: options.udpCandidates ?? true,
        announcedIps: options.announcedIps,
        announcedIps6: options.announcedIps6 ?? [],
        nodeId: options.nodeId,
        logLevel: options.logLevel,
        iceConsentTimeoutMs: options.iceConsentTimeoutMs ?? 30_000,
        roomCodecPolicy: options.roomCodecPolicy ?? 'auto',
        nice: options.workerNice ?? 0,
      },
      logger: options.logger,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      nextId: () => ++this.#nextId,
      onEvent: (slot, roomId, event) => this.#onEvent(slot, roomId, event),
      onExit: (slot, code) => this.#onExit(slot, code),
    });
  }

  /** A MessageChannel between two running workers: each gets one end (relays between them). */
  #connect(a: MediaWorkerSlot, b: MediaWorkerSlot): void {
    if (!a.worker || !b.worker) return;
    const { port1, port2 } = new MessageChannel();
    a.worker.postMessage({ type: 'peer', index: b.index, port: port1 } satisfies ControlToWorker, [port1]);
    b.worker.postMessage({ type: 'peer', index: a.index, port: port2 } satisfies ControlToWorker, [port2]);
  }

  /** A worker's room event; active speakers of a room spanning workers are merged first. */
  #onEvent(slot: MediaWorkerSlot, roomId: RoomId, event: SfuEvent): void {
    if (event.type === 'activeSpeakers')
      this.#options.onEvent(roomId, {
        type: 'activeSpeakers',
        speakers: this.#mergeSpeakers(slot, roomId, event.speakers),
      });
    else this.#options.onEvent(roomId, event);
  }

  /** Active speakers of a room spanning workers: each worker knows its own publishers; merged here. */
  #mergeSpeakers(slot: MediaWorkerSlot, roomId: RoomId, speakers: ActiveSpeakerInfo[]): ActiveSpeakerInfo[] {
    let byWorker = this.#speakers.get(roomId);
    if (!byWorker) {
      byWorker = new Map();
      this.#speakers.set(roomId, byWorker);
    }
    byWorker.set(slot.index, speakers);
    return mergeActiveSpeakers(byWorker);
  }

  /** A worker died (its pending requests failed already): the others and the room hear of it, it restarts. */
  #onExit(slot: MediaWorkerSlot, code: number): void {
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
    const homed = this.#placement.homedOn(slot);
    for (const { roomId, participantId } of homed) this.participantLeft(roomId, participantId);
    slot.participants = 0;
    // Those whose request was still running hear it failed; the others are told they were lost.
    for (const { roomId, participantId, confirmed } of homed)
      if (confirmed)
        this.#options.onEvent(roomId, { type: 'participantLost', participantId, reason: 'worker_restarted' });
    slot.spawn();
    // Once it is back, it gets a channel to every running worker.
    slot.ready.then(
      () => {
        for (const other of this.#slots) if (other !== slot) this.#connect(slot, other);
      },
      () => undefined,
    );
  }
}
