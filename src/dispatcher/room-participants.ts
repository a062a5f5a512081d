import type { NodeId, ParticipantId, RoomId } from '../lib/ids.ts';

/**
 * The participants a dispatcher joined, per room, with the node each joined on: who to report lost
 * when the room's node dies, and who is left behind on the old node when the room moves.
 */
export class RoomParticipants {
  readonly #rooms = new Map<RoomId, Map<ParticipantId, NodeId>>();

  has(roomId: RoomId): boolean {
    return this.#rooms.has(roomId);
  }

  add(roomId: RoomId, participantId: ParticipantId, nodeId: NodeId): void {
    let known = this.#rooms.get(roomId);
    if (!known) {
      known = new Map();
      this.#rooms.set(roomId, known);
    }
    known.set(participantId, nodeId);
  }

  /** Forgets the participant; the room goes with its last one. */
  remove(roomId: RoomId, participantId: ParticipantId): void {
    const known = this.#rooms.get(roomId);
    known?.delete(participantId);
    if (known?.size === 0) this.#rooms.delete(roomId);
  }

  /** Forgets the room and returns its participants. */
  take(roomId: RoomId): Set<ParticipantId> {
    const known = this.#rooms.get(roomId);
    this.#rooms.delete(roomId);
    return new Set(known?.keys());
  }

  /** Forgets and returns the room's participants that joined on another node than `nodeId`. */
  takeJoinedElsewhere(roomId: RoomId, nodeId: NodeId): Array<[ParticipantId, NodeId]> {
    const known = this.#rooms.get(roomId);
    if (!known) return [];
    const elsewhere = [...known].filter(([, joinedOn]) => joinedOn !== nodeId);
    for (const [participantId] of elsewhere) this.remove(roomId, participantId);
    return elsewhere;
  }
}
