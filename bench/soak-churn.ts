// Who joins and leaves during the soak. Each participant (a "slot": a publisher or a subscriber
// of one room) stays a random lifetime, then leaves and a new participant takes its place: a
// subscriber is replaced by a new subscriber of the room's publisher; a publisher by a new
// publisher, to which the room's subscribers move before the old one leaves. Users come from a
// pool and log in again, as returning Waterbus users do, so the user table does not grow with
// the churn. Publishers run in one load process, subscribers in the other.
import type { LoadHandle } from './load-handle.ts';
import type { ServerUnderTest } from './processes.ts';
import { createRoom, joinRoomAs, loginAs } from './provision.ts';
import type { WaterbusIdentity } from './signal.ts';
import { dueSlots, firstLifetimeMs, type Life, lifetimeMs } from './soak-plan.ts';

interface User {
  id: number;
  token: string;
  externalId: string;
}

interface Room {
  roomId: string;
  code: string;
  /** The room's current publisher (participant id). */
  publisherId: string;
}

interface Slot {
  role: 'publisher' | 'subscriber';
  room: Room;
  /** The live participant's id; '' while the slot waits to retry a failed join. */
  id: string;
  user: User | undefined;
  leaveAtMs: number;
  busy: boolean;
}

export interface ChurnCounts {
  live: number;
  joins: number;
  join_failures: number;
  leaves: number;
  leave_failures: number;
}

export interface Churn {
  counts(): ChurnCounts;
}

/** A failed join is tried again after this (with a fresh login). */
const RETRY_MS = 5000;
/** Joins and leaves in flight at a time. */
const CONCURRENCY = 8;

/** Lifecycle: `setUp` → `tick` every few hundred ms for the duration → `drain` → `leaveAll`. */
export class SoakChurn implements Churn {
  readonly #server: ServerUnderTest;
  readonly #publishers: LoadHandle;
  readonly #subscribers: LoadHandle;
  readonly #life: Life;
  readonly #slots: Slot[] = [];
  readonly #freeUsers: User[] = [];
  #users = 0;
  #inFlight = 0;
  readonly #counts = { joins: 0, join_failures: 0, leaves: 0, leave_failures: 0 };

  constructor(options: {
    server: ServerUnderTest;
    publishers: LoadHandle;
    subscribers: LoadHandle;
    life: Life;
  }) {
    this.#server = options.server;
    this.#publishers = options.publishers;
    this.#subscribers = options.subscribers;
    this.#life = options.life;
  }

  counts(): ChurnCounts {
    return { live: this.#slots.filter((s) => s.id !== '').length, ...this.#counts };
  }

  /** `rooms` rooms with a publisher each, then `subscribers` spread over them (`fanout` per room). */
  async setUp(rooms: number, subscribers: number, fanout: number): Promise<void> {
    const now = performance.now();
    const all: Room[] = [];
    for (let r = 0; r < rooms; r++) {
      const user = await this.#takeUser();
      const room: Room = {
        ...(await createRoom(this.#server.baseUrl, this.#server.apiKey, user.token)),
        publisherId: '',
      };
      const slot: Slot = { role: 'publisher', room, id: '', user: undefined, leaveAtMs: 0, busy: true };
      this.#slots.push(slot);
      this.#freeUsers.push(user);
      await this.#join(slot);
      room.publisherId = slot.id;
      all.push(room);
    }
    const subs: Slot[] = [];
    for (let i = 0; i < subscribers; i++) {
      const room = all[Math.floor(i / fanout)]!;
      subs.push({ role: 'subscriber', room, id: '', user: undefined, leaveAtMs: 0, busy: true });
    }
    this.#slots.push(...subs);
    await inParallel(subs, CONCURRENCY, (s) => this.#join(s));
    for (const s of this.#slots) {
      s.leaveAtMs = now + firstLifetimeMs(this.#life, Math.random);
      s.busy = false;
    }
  }

  /** Starts the replacements due now (at most CONCURRENCY operations in flight). */
  tick(nowMs: number): void {
    for (const slot of dueSlots(this.#slots, nowMs, CONCURRENCY - this.#inFlight)) {
      slot.busy = true;
      this.#inFlight++;
      // Fire and forget: a failed replacement is counted in #join/#leave and the slot retries;
      // an unexpected error is shown and must not stop the soak.
      this.#replace(slot)
        .catch((err: unknown) =>
          process.stderr.write(`soak: replacement failed: ${(err as Error).message}\n`),
        )
        .finally(() => {
          slot.busy = false;
          this.#inFlight--;
        });
    }
  }

  /** Waits (at most `timeoutMs`) for the replacements in flight. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }

  /** Every participant leaves: subscribers first, then publishers. */
  async leaveAll(): Promise<void> {
    for (const role of ['subscriber', 'publisher'] as const)
      await inParallel(
        this.#slots.filter((s) => s.role === role && s.id !== ''),
        CONCURRENCY,
        (s) => this.#leave(s),
      );
  }

  async #replace(slot: Slot): Promise<void> {
    if (slot.role === 'subscriber') {
      if (slot.id !== '') await this.#leave(slot);
      await this.#join(slot);
      return;
    }
    const old = { ...slot };
    await this.#join(slot);
    // The new publisher failed to join: the old one stays until the retry.
    if (slot.id === '') {
      Object.assign(slot, { id: old.id, user: old.user });
      return;
    }
    slot.room.publisherId = slot.id;
    const moving = this.#slots.filter(
      (s) => s.role === 'subscriber' && s.room === slot.room && s.id && !s.busy,
    );
    for (const s of moving) s.busy = true;
    await inParallel(moving, CONCURRENCY, async (s) => {
      await this.#subscribers
        .churn({ type: 'retarget', id: s.id, from: old.id, to: slot.id })
        .catch(() => this.#counts.join_failures++);
      s.busy = false;
    });
    if (old.id !== '') await this.#leave(old);
  }

  /** A new participant in the slot (a fresh login from the pool); on failure the slot retries later. */
  async #join(slot: Slot): Promise<void> {
    const user = await this.#takeUser();
    const load = slot.role === 'publisher' ? this.#publishers : this.#subscribers;
    let identity: WaterbusIdentity | undefined;
    try {
      identity = await joinRoomAs(this.#server.baseUrl, this.#server.apiKey, slot.room, user);
      await load.churn({
        type: 'join',
        participant: {
          id: identity.participantId,
          identity,
          publish: slot.role === 'publisher' ? { video: true, audio: false } : undefined,
          subscribeTo: slot.role === 'subscriber' ? [slot.room.publisherId] : [],
        },
      });
      Object.assign(slot, { id: identity.participantId, user });
      slot.leaveAtMs = performance.now() + lifetimeMs(this.#life, Math.random);
      this.#counts.joins++;
    } catch (err) {
      this.#counts.join_failures++;
      process.stderr.write(`soak: join failed: ${(err as Error).message}\n`);
      // The load process cleaned up after itself; the participant row goes with room.leave.
      if (identity) await load.churn({ type: 'leave', id: identity.participantId }).catch(() => undefined);
      this.#freeUsers.push(user);
      Object.assign(slot, { id: '', user: undefined });
      slot.leaveAtMs = performance.now() + RETRY_MS;
    }
  }

  async #leave(slot: Pick<Slot, 'role' | 'id' | 'user'> & Partial<Slot>): Promise<void> {
    const load = slot.role === 'publisher' ? this.#publishers : this.#subscribers;
    try {
      await load.churn({ type: 'leave', id: slot.id });
      this.#counts.leaves++;
    } catch {
      this.#counts.leave_failures++;
    }
    if (slot.user) this.#freeUsers.push(slot.user);
    Object.assign(slot, { id: '', user: undefined });
  }

  /** A user from the pool (or a new one), logged in again: a pooled token may have expired. */
  async #takeUser(): Promise<User> {
    const externalId = this.#freeUsers.shift()?.externalId ?? `soak-${process.pid}-${++this.#users}`;
    const user = await loginAs(this.#server.baseUrl, this.#server.apiKey, externalId);
    return { ...user, externalId };
  }
}

async function inParallel<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
