import { FailureThrottle, type FailureThrottleOptions } from '../lib/failure-throttle.ts';
import type { UserId } from '../lib/ids.ts';

type Limits = Pick<FailureThrottleOptions, 'freeFailures' | 'baseDelayMs' | 'maxDelayMs'>;

/**
 * Per user (and room): 5 wrong passwords are free, then waits of 1 s, 2 s, 4 s… up to 15 minutes,
 * so a guesser gets a few dozen tries an hour instead of ~40 a second.
 */
export const PER_USER_LIMITS: Limits = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 };
/**
 * Per room, across users (one guesser with many accounts): 20 free, then the same doubling up to
 * 5 minutes. Members never give the password, so a throttled room stays open to them.
 */
export const PER_ROOM_LIMITS: Limits = { freeFailures: 20, baseDelayMs: 1000, maxDelayMs: 5 * 60_000 };

const SWEEP_EVERY_MS = 60_000;
/** Password checks of one room running at once (scrypt is slow: without this, parallel tries all pass the throttle). */
const MAX_CHECKS_PER_ROOM = 8;

/**
 * Throttles wrong room passwords with exponential backoff, per user of a room and per room. Its
 * memory is bounded (the throttles trim themselves) and swept as failures come in; no timers.
 */
export class RoomPasswordGuard {
  readonly #perUser: FailureThrottle;
  readonly #perRoom: FailureThrottle;
  readonly #clock: { nowMs(): number };
  #sweptAtMs: number;
  readonly #checking = new Set<string>();
  readonly #checksByRoom = new Map<number, number>();

  constructor(options: { clock?: { nowMs(): number }; perUser?: Limits; perRoom?: Limits } = {}) {
    this.#clock = options.clock ?? { nowMs: () => Date.now() };
    this.#perUser = new FailureThrottle({ ...(options.perUser ?? PER_USER_LIMITS), clock: this.#clock });
    this.#perRoom = new FailureThrottle({ ...(options.perRoom ?? PER_ROOM_LIMITS), clock: this.#clock });
    this.#sweptAtMs = this.#clock.nowMs();
  }

  /** Milliseconds before this user may try a password for this room again (0: now). */
  retryAfterMs(userId: UserId, roomId: number): number {
    return Math.max(
      this.#perUser.retryAfterMs(userKey(userId, roomId)),
      this.#perRoom.retryAfterMs(String(roomId)),
    );
  }

  /**
   * Starts a password check; false when this user already has one running for this room, or the
   * room has too many. Every `true` must be followed by `end()`.
   */
  begin(userId: UserId, roomId: number): boolean {
    const key = userKey(userId, roomId);
    const inRoom = this.#checksByRoom.get(roomId) ?? 0;
    if (this.#checking.has(key) || inRoom >= MAX_CHECKS_PER_ROOM) return false;
    this.#checking.add(key);
    this.#checksByRoom.set(roomId, inRoom + 1);
    return true;
  }

  end(userId: UserId, roomId: number): void {
    if (!this.#checking.delete(userKey(userId, roomId))) return;
    const left = (this.#checksByRoom.get(roomId) ?? 1) - 1;
    if (left <= 0) this.#checksByRoom.delete(roomId);
    else this.#checksByRoom.set(roomId, left);
  }

  /** Records a wrong password; returns the wait it imposes (0 while within the free tries). */
  failed(userId: UserId, roomId: number): number {
    this.#sweepNowAndThen();
    return Math.max(this.#perUser.fail(userKey(userId, roomId)), this.#perRoom.fail(String(roomId)));
  }

  /** The right password: the user's count starts again (the room's decays with time). */
  succeeded(userId: UserId, roomId: number): void {
    this.#perUser.succeed(userKey(userId, roomId));
  }

  #sweepNowAndThen(): void {
    const now = this.#clock.nowMs();
    if (now - this.#sweptAtMs < SWEEP_EVERY_MS) return;
    this.#sweptAtMs = now;
    this.#perUser.sweep();
    this.#perRoom.sweep();
  }
}

function userKey(userId: UserId, roomId: number): string {
  return `${userId}:${roomId}`;
}
