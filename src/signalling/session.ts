import type { Socket } from 'socket.io';
import type { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import type { RoomGrant } from '../store/join-token-user.ts';

/**
 * One socket: an authenticated user who acts for at most one participant at a time. Operations of
 * a session run one after another (`run`), so a publish and a leave of the same socket never
 * interleave.
 *
 * Lifecycle: connected (no participant) → in a room (after publish or reconnect) → out of the room
 * (leave) → … → closed (disconnect). A newer socket publishing the same participant takes it over:
 * the old session is detached and disconnected.
 */
export class Session {
  readonly socket: Socket;
  readonly userId: UserId;
  /** Set for a join token: the one room this socket may act in, and its grants. */
  readonly grant: RoomGrant | undefined;
  participant: { participantId: ParticipantId; roomId: RoomId } | null = null;
  closed = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(socket: Socket, userId: UserId, grant?: RoomGrant) {
    this.socket = socket;
    this.userId = userId;
    this.grant = grant;
  }

  get id(): string {
    return this.socket.id;
  }

  /** Queues `op` behind the session's earlier operations; its result or error goes to the caller. */
  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op, op);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
