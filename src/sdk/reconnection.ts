import type { IceWatchdog } from './ice-watchdog.ts';
import { type RoomContext, reportError } from './room-context.ts';
import { type ChannelStatus, SignallingError } from './signalling.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { ParticipantJson } from './types.ts';

/** What the reconnection asks of the rest of the Room. */
export interface ReconnectionRoom {
  readonly ice: IceWatchdog;
  readonly subscriptions: Subscriptions;
  /** The password the room was joined with (a rejoin needs it again). */
  password(): string | undefined;
  publish(): Promise<void>;
  /** Closes the publisher and every subscription (the room's participants stay). */
  closeMedia(): void;
  /** Leaves for good: forgets the room (the caller then goes to `left`). */
  teardown(): void;
}

/**
 * Keeps the call through drops: on a socket drop (or the server's word that it lost our media, or
 * an ICE restart that did not help) the media is closed and, once the socket is back,
 * `room.reconnect` takes the participant back (or a REST join makes a new one when it is gone),
 * we publish again and resubscribe. Gives up when the connection has not come back in time.
 */
export class Reconnection {
  readonly #ctx: RoomContext;
  readonly #room: ReconnectionRoom;
  readonly #timeoutMs: number;
  #resuming: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: RoomContext, room: ReconnectionRoom, timeoutMs: number) {
    this.#ctx = ctx;
    this.#room = room;
    this.#timeoutMs = timeoutMs;
  }

  onStatus(status: ChannelStatus): void {
    const { machine } = this.#ctx;
    if (status.type === 'disconnected' && machine.is('joined')) {
      machine.to('reconnecting');
      const restarting = this.#room.ice.restarting;
      // The server closed our media when the socket dropped; the tracks we received are gone.
      this.#room.closeMedia();
      if (!restarting) this.#ctx.emit('reconnecting', { reason: status.reason });
      this.#timer = setTimeout(() => this.#giveUp(), this.#timeoutMs);
    } else if (status.type === 'connected' && machine.is('reconnecting')) {
      this.#resuming ??= this.#resume().finally(() => {
        this.#resuming = null;
      });
    }
  }

  /** The ICE restart did not bring media back: publish again and resubscribe, as after a socket drop. */
  fallBackToRejoin(): void {
    this.#room.ice.endRestart();
    if (!this.#ctx.machine.is('joined') || !this.#ctx.signalling.connected) return;
    this.#ctx.machine.to('reconnecting');
    this.#room.closeMedia();
    this.#timer = setTimeout(() => this.#giveUp(), this.#timeoutMs);
    this.#resuming ??= this.#resume().finally(() => {
      this.#resuming = null;
    });
  }

  clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Back on a new socket: take the participant back (or join again), publish, resubscribe. */
  async #resume(): Promise<void> {
    const room = this.#ctx.requireRoom();
    const local = this.#ctx.requireLocal();
    let rejoined = false;
    try {
      try {
        await this.#ctx.signalling.request('room.reconnect', {
          roomId: String(room.id),
          participantId: local.id,
        });
      } catch (err) {
        if (!(err instanceof SignallingError) || err.code === 'timeout') throw err;
        // The participant is gone (grace period over) or refused: join again as a new participant.
        const joined = await this.#ctx.api.joinRoom(room.id, this.#room.password());
        const mine = [...joined.participants].reverse().find((p) => p.userId === local.userId);
        if (!mine) throw new Error('bbmeet: the join reply does not hold our participant');
        local.id = String(mine.id);
        rejoined = true;
      }
      await this.#room.publish();
      if (!this.#ctx.machine.is('reconnecting')) return;
      const current = await this.#ctx.api.roomByCode(room.code ?? String(room.id)).catch(() => null);
      this.clearTimer();
      this.#ctx.machine.to('joined');
      this.#catchUp(current?.participants, local.id);
      this.#ctx.emit('reconnected', { participantId: local.id, rejoined });
    } catch (err) {
      // Dropped again while resuming: the next `connected` tries again. Anything else is fatal.
      if (err instanceof SignallingError && err.code === 'timeout') return;
      if (!this.#ctx.signalling.connected) return;
      reportError(this.#ctx, err, 'room.reconnect');
      this.#room.teardown();
      this.#ctx.machine.tryTo('left');
    }
  }

  /**
   * The room as it is now (null: unknown, everyone stays): who left meanwhile is removed, who came
   * is added, and who we want is subscribed again.
   */
  #catchUp(current: readonly ParticipantJson[] | undefined, localId: string): void {
    const { participants } = this.#ctx;
    const { subscriptions } = this.#room;
    const present = new Set(current?.map((p) => String(p.id)) ?? participants.keys());
    for (const id of [...participants.keys()]) if (!present.has(id)) subscriptions.removeParticipant(id);
    for (const p of current ?? []) {
      if (String(p.id) === localId || p.status === 1) continue;
      if (!participants.has(String(p.id))) subscriptions.addParticipant(p);
    }
    subscriptions.resubscribeWanted();
  }

  #giveUp(): void {
    if (!this.#ctx.machine.is('reconnecting')) return;
    this.#ctx.emit('error', {
      code: 'unavailable',
      message: 'the connection did not come back',
      event: 'reconnect',
    });
    this.#room.teardown();
    this.#ctx.machine.tryTo('left');
  }
}
