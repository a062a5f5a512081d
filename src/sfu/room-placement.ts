/**
 * Which media worker each participant of a room is homed on: the placement rule (choosePlacement)
 * and the homes it made, with the participants each worker counts and the homes a request has
 * succeeded on (a crash reports those lost). Not the workers themselves (media-worker-slot.ts)
 * and not the routing of requests to them (media-worker-pool.ts).
 */

import type { ParticipantId, RoomId } from '../lib/ids.ts';

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

/** A worker as placement sees it: `participants` is counted here as homes come and go. */
export interface PlacedWorker {
  readonly index: number;
  participants: number;
  /** False while the worker restarts: nothing is placed on it. */
  readonly running: boolean;
}

/** What removing a home changed: the worker it was on, and whether it or the room is left empty. */
export interface Unplaced<W> {
  worker: W;
  /** The worker holds no participant of the room any more. */
  workerLeftRoom: boolean;
  /** The room has no participant on any worker any more. */
  roomGone: boolean;
}

export class RoomPlacement<W extends PlacedWorker> {
  readonly #workers: readonly W[];
  readonly #cap: number;
  /** Room → participant → home worker, in the order they were placed. */
  readonly #homes = new Map<RoomId, Map<ParticipantId, W>>();
  /** `${roomId}/${participantId}` of homes a request has succeeded on (a crash reports these lost). */
  readonly #confirmed = new Set<string>();

  /** `cap`: a room's participants per worker before it spans another (roomParticipantsPerWorker). */
  constructor(workers: readonly W[], cap: number) {
    if (!Number.isInteger(cap) || cap < 1)
      throw new RangeError(`roomParticipantsPerWorker must be a positive integer, got ${cap}`);
    this.#workers = workers;
    this.#cap = cap;
  }

  home(roomId: RoomId, participantId: ParticipantId): W | undefined {
    return this.#homes.get(roomId)?.get(participantId);
  }

  hasRoom(roomId: RoomId): boolean {
    return this.#homes.has(roomId);
  }

  /** A request of the participant succeeded on its home: a crash of that worker reports it lost. */
  confirm(roomId: RoomId, participantId: ParticipantId): void {
    this.#confirmed.add(`${roomId}/${participantId}`);
  }

  /** Gives the participant a home worker (choosePlacement) and counts it there. */
  place(roomId: RoomId, participantId: ParticipantId): W {
    let homes = this.#homes.get(roomId);
    if (!homes) {
      homes = new Map();
      this.#homes.set(roomId, homes);
    }
    const inRoom = new Map<W, number>();
    for (const w of homes.values()) inRoom.set(w, (inRoom.get(w) ?? 0) + 1);
    const roomCounts = new Map<W, number>();
    for (const [, h] of this.#homes)
      for (const w of new Set(h.values())) roomCounts.set(w, (roomCounts.get(w) ?? 0) + 1);
    const index = choosePlacement(
      this.#workers.map((w) => ({
        index: w.index,
        participants: w.participants,
        rooms: roomCounts.get(w) ?? 0,
        inRoom: inRoom.get(w) ?? 0,
        up: w.running,
      })),
      this.#cap,
    );
    const worker = this.#workers[index]!;
    homes.set(participantId, worker);
    worker.participants++;
    return worker;
  }

  /** Forgets the participant's home (uncounted there); undefined when it had none. */
  remove(roomId: RoomId, participantId: ParticipantId): Unplaced<W> | undefined {
    const homes = this.#homes.get(roomId);
    const worker = homes?.get(participantId);
    if (!homes || !worker) return undefined;
    homes.delete(participantId);
    this.#confirmed.delete(`${roomId}/${participantId}`);
    worker.participants--;
    const roomGone = homes.size === 0;
    if (roomGone) this.#homes.delete(roomId);
    return { worker, workerLeftRoom: ![...homes.values()].includes(worker), roomGone };
  }

  /** For an operation of someone without a home: a worker of the room (it answers not found), else the first. */
  anyWorker(roomId: RoomId): W {
    const homes = this.#homes.get(roomId);
    return homes?.values().next().value ?? this.#workers[0]!;
  }

  /** Rooms with participants homed on `worker`. */
  roomsOf(worker: W): RoomId[] {
    const rooms: RoomId[] = [];
    for (const [roomId, homes] of this.#homes) if ([...homes.values()].includes(worker)) rooms.push(roomId);
    return rooms;
  }

  /** The participants homed on `worker`, and whether a request of theirs succeeded there. */
  homedOn(worker: W): Array<{ roomId: RoomId; participantId: ParticipantId; confirmed: boolean }> {
    const homed: Array<{ roomId: RoomId; participantId: ParticipantId; confirmed: boolean }> = [];
    for (const [roomId, homes] of this.#homes)
      for (const [participantId, w] of homes)
        if (w === worker)
          homed.push({ roomId, participantId, confirmed: this.#confirmed.has(`${roomId}/${participantId}`) });
    return homed;
  }
}
