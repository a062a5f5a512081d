import type { IceStateEvent } from './media.ts';

/** What the watchdog asks of the room it watches. */
export interface IceWatchdogRoom {
  /** ICE changes matter only while joined with the socket up. */
  joined(): boolean;
  signallingUp(): boolean;
  isSubscribed(targetId: string): boolean;
  /** Renegotiates the publisher with new ICE credentials. */
  restartPublisherIce(): Promise<void>;
  /** The restart did not bring the publisher back in time (or failed again): publish again. */
  fallBackToRejoin(): void;
  /** A subscriber connection broke: subscribe again (the server offers a fresh connection). */
  resubscribe(targetId: string): void;
  /** An ICE restart began (`reconnecting` with reason `ice`) or brought media back. */
  restartStarted(): void;
  restartSucceeded(): void;
}

export interface IceWatchdogTimes {
  /** How long the publisher's ICE may stay `disconnected` before an ICE restart. */
  disconnectedMs: number;
  /**
   * How long an ICE restart may take before the full rejoin, and how long a subscriber connection
   * may stay `disconnected` before it is resubscribed.
   */
  restartTimeoutMs: number;
}

/**
 * Watches the ICE state of the publisher and subscriber connections while the socket is up: a
 * publisher `disconnected` for long, or `failed`, gets an ICE restart, and the full rejoin when the
 * restart does not succeed in time or fails again; a subscriber connection `disconnected` for long,
 * or `failed`, is resubscribed (the server is its offerer).
 */
export class IceWatchdog {
  readonly #room: IceWatchdogRoom;
  readonly #times: IceWatchdogTimes;
  /** The publisher's ICE went `disconnected`: restart when it lasts. */
  #disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  /** An ICE restart is under way: the full rejoin when it does not succeed by then. */
  #restartTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #subscriberTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(room: IceWatchdogRoom, times: IceWatchdogTimes) {
    this.#room = room;
    this.#times = times;
  }

  /** An ICE restart is under way. */
  get restarting(): boolean {
    return this.#restartTimer !== null;
  }

  onState({ targetId, state }: IceStateEvent): void {
    if (!this.#room.joined()) return;
    if (targetId !== null) {
      this.#onSubscriber(targetId, state);
      return;
    }
    if (state === 'connected' || state === 'completed') {
      this.#clearDisconnected();
      if (this.#restartTimer) {
        this.endRestart();
        this.#room.restartSucceeded();
      }
    } else if (state === 'disconnected') {
      if (!this.#disconnectedTimer && !this.#restartTimer)
        this.#disconnectedTimer = setTimeout(() => {
          this.#disconnectedTimer = null;
          void this.#restart();
        }, this.#times.disconnectedMs);
    } else if (state === 'failed') {
      this.#clearDisconnected();
      // Failed again after a restart: the restart did not help.
      if (this.#restartTimer) this.#room.fallBackToRejoin();
      else void this.#restart();
    }
  }

  /** The restart is over (it succeeded, or the full rejoin takes over). */
  endRestart(): void {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
  }

  /** The subscription is gone or was renewed: its `disconnected` timer no longer applies. */
  clearSubscriber(targetId: string): void {
    const timer = this.#subscriberTimers.get(targetId);
    if (timer) clearTimeout(timer);
    this.#subscriberTimers.delete(targetId);
  }

  clear(): void {
    this.#clearDisconnected();
    this.endRestart();
    for (const timer of this.#subscriberTimers.values()) clearTimeout(timer);
    this.#subscriberTimers.clear();
  }

  #onSubscriber(targetId: string, state: IceStateEvent['state']): void {
    if (!this.#room.isSubscribed(targetId)) return;
    if (state === 'connected' || state === 'completed') this.clearSubscriber(targetId);
    else if (state === 'disconnected' && !this.#subscriberTimers.has(targetId)) {
      this.#subscriberTimers.set(
        targetId,
        setTimeout(() => this.#resubscribe(targetId), this.#times.restartTimeoutMs),
      );
    } else if (state === 'failed') this.#resubscribe(targetId);
  }

  #resubscribe(targetId: string): void {
    this.clearSubscriber(targetId);
    this.#room.resubscribe(targetId);
  }

  /** The socket is up but the publisher's media path broke: ICE restart first (new credentials). */
  async #restart(): Promise<void> {
    if (!this.#room.joined() || !this.#room.signallingUp() || this.#restartTimer) return;
    this.#restartTimer = setTimeout(() => this.#room.fallBackToRejoin(), this.#times.restartTimeoutMs);
    this.#room.restartStarted();
    try {
      await this.#room.restartPublisherIce();
    } catch {
      // The fallback timer takes over (or the socket's own reconnection, if it dropped).
    }
  }

  #clearDisconnected(): void {
    if (this.#disconnectedTimer) clearTimeout(this.#disconnectedTimer);
    this.#disconnectedTimer = null;
  }
}
