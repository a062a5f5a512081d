import type { SessionEndpoint } from './session.ts';

/** Why a WHIP session ended (the `reason` of `bbmeet_whip_sessions_total{outcome="ended"}`). */
export type WhipEndReason = 'deleted' | 'media_lost' | 'evicted' | 'taken_over' | 'shutdown' | 'left';

/**
 * The endpoint of a WHIP session: an HTTP resource, with no channel for server events and no
 * socket.io room. Leaving the room (or being disconnected by a takeover) ends the session.
 */
export class WhipEndpoint implements SessionEndpoint {
  readonly id: string;
  /** Why the session is ending: set by its owner (DELETE, shutdown) or by the event that ends it. */
  endReason: WhipEndReason | undefined;
  readonly #onEnded: (reason: WhipEndReason) => void;

  constructor(id: string, onEnded: (reason: WhipEndReason) => void) {
    this.id = id;
    this.#onEnded = onEnded;
  }

  /**
   * Server events have nowhere to go; the errors that precede a leave tell why it ended: media lost
   * (`event: 'media'`) or the user's access ended (`event: 'room.removed'`).
   */
  emit(event: string, payload: unknown): void {
    if (event !== 'system.error' || this.endReason !== undefined) return;
    const about = (payload as { event?: unknown } | null)?.event;
    if (about === 'media') this.endReason = 'media_lost';
    else if (about === 'room.removed') this.endReason = 'evicted';
  }

  join(): void {
    // No socket.io room to join: room broadcasts are for the sockets.
  }

  leave(): void {
    this.#onEnded(this.endReason ?? 'left');
  }

  disconnect(): void {
    this.#onEnded(this.endReason ?? 'taken_over');
  }
}
