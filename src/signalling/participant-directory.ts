import type { ParticipantId, RoomId, UserId } from '../lib/ids.ts';
import type { EgressKind } from '../protocol/egress.ts';
import type { MediaState } from '../protocol/sfu-api.ts';

export { defaultMediaState } from '../protocol/sfu-api.ts';

export const ConnectionType = { P2P: 0, SFU: 1 } as const;
export type ConnectionType = (typeof ConnectionType)[keyof typeof ConnectionType];

/** A participant connected through this signalling process (one socket each). */
export interface ParticipantEntry {
  participantId: ParticipantId;
  roomId: RoomId;
  userId: UserId;
  socketId: string;
  connectionType: ConnectionType;
  mediaState: MediaState;
  /** P2P: the publisher's offer, handed to every subscriber (the original handed it out once). */
  p2pOffer: string | null;
  /** A join token's `hidden` grant: never announced to the room, nor its leave or media state. */
  hidden?: boolean;
  /**
   * `streamingProtocol` of its `room.publish` (newer Waterbus SDKs): the egress to start once its
   * tracks arrived (`publisherReady`); an egress of a publisher without tracks cannot start.
   */
  streamOnReady?: EgressKind;
}

/** Who is in which room, with their media state and P2P offers. */
export class ParticipantDirectory {
  readonly #participants = new Map<ParticipantId, ParticipantEntry>();
  readonly #rooms = new Map<RoomId, Set<ParticipantId>>();

  get(participantId: ParticipantId): ParticipantEntry | undefined {
    return this.#participants.get(participantId);
  }

  add(entry: ParticipantEntry): void {
    this.remove(entry.participantId);
    this.#participants.set(entry.participantId, entry);
    let room = this.#rooms.get(entry.roomId);
    if (!room) {
      room = new Set();
      this.#rooms.set(entry.roomId, room);
    }
    room.add(entry.participantId);
  }

  /** Removes the entry; returns it, or undefined if it was not there. */
  remove(participantId: ParticipantId): ParticipantEntry | undefined {
    const entry = this.#participants.get(participantId);
    if (!entry) return undefined;
    this.#participants.delete(participantId);
    const room = this.#rooms.get(entry.roomId);
    room?.delete(participantId);
    if (room?.size === 0) this.#rooms.delete(entry.roomId);
    return entry;
  }

  inRoom(roomId: RoomId): ParticipantEntry[] {
    const ids = this.#rooms.get(roomId);
    if (!ids) return [];
    return [...ids]
      .map((id) => this.#participants.get(id))
      .filter((e): e is ParticipantEntry => e !== undefined);
  }

  hasRoom(roomId: RoomId): boolean {
    return this.#rooms.has(roomId);
  }

  get roomCount(): number {
    return this.#rooms.size;
  }

  get participantCount(): number {
    return this.#participants.size;
  }
}
