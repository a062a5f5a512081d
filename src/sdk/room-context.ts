import type { MediaController } from './media.ts';
import type { RoomApi } from './rest.ts';
import { type SignallingChannel, SignallingError } from './signalling.ts';
import type { StateMachine } from './state.ts';
import type { Participant, RoomEvents, RoomJson } from './types.ts';

/** SFU mode (Waterbus connectionType 1): the server answers our offer and offers us each remote participant. */
export const SFU = 1;

/**
 * What the Room's parts share: its three seams (socket, REST, WebRTC), its life cycle, the other
 * participants and its events. The Room builds one and hands it to each part.
 */
export interface RoomContext {
  readonly signalling: SignallingChannel;
  readonly api: RoomApi;
  readonly media: MediaController;
  readonly machine: StateMachine;
  /** The other participants, by participant id. */
  readonly participants: Map<string, Participant>;
  emit<K extends keyof RoomEvents>(event: K, payload: RoomEvents[K]): void;
  /** Our own participant, once joined. */
  local(): Participant | null;
  /** The room we are in, once joined. */
  room(): RoomJson | null;
  /** The room we are in; throws when not in one. */
  requireRoom(): RoomJson;
  /** Our own participant; throws before the join. */
  requireLocal(): Participant;
}

/** Tells the application (an `error` event) that `event` failed. */
export function reportError(ctx: RoomContext, err: unknown, event: string): void {
  const code = err instanceof SignallingError ? err.code : 'internal';
  const message = err instanceof Error ? err.message : String(err);
  ctx.emit('error', { code, message, event });
}
