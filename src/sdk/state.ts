import type { RoomState } from './types.ts';

/**
 * The room's life cycle:
 *
 *   idle ─join─► connecting ─published─► joined ─socket lost─► reconnecting ─back─► joined
 *                    │                     │                        │
 *                    └─failed─► left       └─leave─► left           └─leave / gave up─► left
 *
 * A failed join ends in `left` (a Room is used once; create another to retry).
 */
const TRANSITIONS: Record<RoomState, readonly RoomState[]> = {
  idle: ['connecting', 'left'],
  connecting: ['joined', 'left'],
  joined: ['reconnecting', 'left'],
  reconnecting: ['joined', 'left'],
  left: [],
};

export class StateError extends Error {
  constructor(from: RoomState, to: RoomState) {
    super(`bbmeet: cannot go from '${from}' to '${to}'`);
    this.name = 'StateError';
  }
}

export function canTransition(from: RoomState, to: RoomState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Holds the current state; `to` refuses transitions the diagram above does not have. */
export class StateMachine {
  #state: RoomState = 'idle';
  readonly #onChange: (state: RoomState, previous: RoomState) => void;

  constructor(onChange: (state: RoomState, previous: RoomState) => void) {
    this.#onChange = onChange;
  }

  get state(): RoomState {
    return this.#state;
  }

  to(next: RoomState): void {
    const previous = this.#state;
    if (!canTransition(previous, next)) throw new StateError(previous, next);
    this.#state = next;
    this.#onChange(next, previous);
  }

  /** Like `to`, but a no-op when the transition is not allowed (e.g. leave twice). */
  tryTo(next: RoomState): boolean {
    if (!canTransition(this.#state, next)) return false;
    this.to(next);
    return true;
  }

  is(...states: RoomState[]): boolean {
    return states.includes(this.#state);
  }
}
