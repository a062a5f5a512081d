import type { ParticipantId, RoomId } from '../lib/ids.ts';

/** The participants a dispatcher joined, per room: who to report lost when the room's node dies. */
export class RoomParticipants {
  readonly #rooms = new Map<RoomId, Set<ParticipantId>>();

  has(roomId: RoomId): boolean {
    return this.#rooms.has(roomId);
  }

  add(roomId: RoomId, participantId: ParticipantId): void {
    let known = this.#rooms.get(roomId);
    if (!known) {
      known = new Set();
      this.#rooms.set(roomId, known);
    }
    known.add(participantId);
  }

  /** Forgets the participant; the room goes with its last one. */
  remove(roomId: RoomId, participantId: ParticipantId): void {
    const known = this.#rooms.get(roomId);
    known?.delete(participantId);
    if (known?.size === 0) this.#rooms.delete(roomId);
  }

  /** Forgets the room and returns its participants. */
  take(roomId: RoomId): Set<ParticipantId> {
    const known = this.#rooms.get(roomId) ?? new Set();
    this.#rooms.delete(roomId);
    return known;
  }
}
