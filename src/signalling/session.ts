import type { Socket } from 'socket.io';
import type { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import type { RoomGrant } from '../store/join-token-user.ts';

/**
 * What a session's client is connected through: a socket.io socket, or a WHIP resource (an HTTP
 * publisher with no channel for server events). A Socket has this shape as it is.
 */
export interface SessionEndpoint {
  readonly id: string;
  /** A server → client event (a WHIP endpoint has nowhere to send it). */
  emit(event: string, payload: unknown): unknown;
  /** From now on the client gets the room's broadcasts. */
  join(roomId: string): Promise<void> | void;
  /** The client's participant left the room. */
  leave(roomId: string): Promise<void> | void;
  /** Ends the client's connection (its participant was taken over by a newer one). */
  disconnect(close: boolean): unknown;
}

/**
 * One client connection: an authenticated user who acts for at most one participant at a time.
 * Operations of a session run one after another (`run`), so a publish and a leave of the same
 * connection never interleave.
 *
 * Lifecycle: connected (no participant) → in a room (after publish or reconnect) → out of the room
 * (leave) → … → closed (disconnect). A newer connection publishing the same participant takes it
 * over: the old session is detached and disconnected.
 */
export class Session<E extends SessionEndpoint = Socket> {
  readonly endpoint: E;
  readonly userId: UserId;
  /** Set for a join token: the one room this session may act in, and its grants. */
  readonly grant: RoomGrant | undefined;
  participant: { participantId: ParticipantId; roomId: RoomId } | null = null;
  closed = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(endpoint: E, userId: UserId, grant?: RoomGrant) {
    this.endpoint = endpoint;
    this.userId = userId;
    this.grant = grant;
  }

  get id(): string {
    return this.endpoint.id;
  }

  /** Queues `op` behind the session's earlier operations; its result or error goes to the caller. */
  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op, op);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** A session of either kind, as the shared signalling state sees it. */
export type AnySession = Session<SessionEndpoint>;
