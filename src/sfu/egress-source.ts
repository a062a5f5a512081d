import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { SfuEvent } from '../protocol/sfu-api.ts';
import type { EgressSource, PublisherTap } from './egress-backend.ts';

type Change = Parameters<Parameters<EgressSource['watch']>[1]>[0];

/** What the source needs of the media workers. */
export interface TapProvider {
  tap(roomId: RoomId, participantId: ParticipantId): Promise<PublisherTap>;
  /** Whether any participant of the room is still placed on a worker. */
  hasRoom(roomId: RoomId): boolean;
}

/**
 * The SFU's side of the egress contract on the control thread: which publishers of a room are
 * ready (from `publisherReady` events, in the order they became ready), taps on them through the
 * media workers, and changes for room egresses. The Sfu feeds it the room's events and leaves.
 */
export class SfuEgressSource implements EgressSource {
  readonly nodeId: string;
  readonly #workers: TapProvider;
  readonly #log: Logger;
  readonly #ready = new Map<RoomId, ParticipantId[]>();
  readonly #watchers = new Map<RoomId, Set<(change: Change) => void>>();
  /** Rooms with a ready publisher or a watcher since they last closed: each closes once. */
  readonly #open = new Set<RoomId>();

  constructor(options: { nodeId: string; workers: TapProvider; logger: Logger }) {
    this.nodeId = options.nodeId;
    this.#workers = options.workers;
    this.#log = options.logger;
  }

  publishers(roomId: RoomId): ParticipantId[] {
    return [...(this.#ready.get(roomId) ?? [])];
  }

  tap(roomId: RoomId, participantId: ParticipantId): Promise<PublisherTap> {
    return this.#workers.tap(roomId, participantId);
  }

  watch(roomId: RoomId, listener: (change: Change) => void): () => void {
    let set = this.#watchers.get(roomId);
    if (!set) {
      set = new Set();
      this.#watchers.set(roomId, set);
    }
    set.add(listener);
    this.#open.add(roomId);
    return () => {
      const current = this.#watchers.get(roomId);
      current?.delete(listener);
      if (current?.size === 0) this.#watchers.delete(roomId);
    };
  }

  /** A room event (the Sfu passes every one): publisherReady and participantLost matter here. */
  observe(roomId: RoomId, event: SfuEvent): void {
    if (event.type === 'publisherReady') this.#becameReady(roomId, event.participantId);
    else if (event.type === 'participantLost') this.left(roomId, event.participantId);
  }

  /** A participant left the room (or was lost); the room closes with its last one. */
  left(roomId: RoomId, participantId: ParticipantId): void {
    const ready = this.#ready.get(roomId);
    const index = ready?.indexOf(participantId) ?? -1;
    if (ready && index >= 0) {
      ready.splice(index, 1);
      if (ready.length === 0) this.#ready.delete(roomId);
      this.#notify(roomId, { type: 'left', participantId });
    }
    // A repeated leave of a room already closed says nothing new.
    if (!this.#workers.hasRoom(roomId) && this.#open.delete(roomId)) {
      this.#ready.delete(roomId);
      this.#notify(roomId, { type: 'roomClosed' });
    }
  }

  #becameReady(roomId: RoomId, participantId: ParticipantId): void {
    this.#open.add(roomId);
    let ready = this.#ready.get(roomId);
    if (!ready) {
      ready = [];
      this.#ready.set(roomId, ready);
    }
    // Published again (a new connection): it moves to the end, as a fresh publisher.
    const index = ready.indexOf(participantId);
    if (index >= 0) ready.splice(index, 1);
    ready.push(participantId);
    this.#notify(roomId, { type: 'ready', participantId });
  }

  #notify(roomId: RoomId, change: Change): void {
    for (const listener of [...(this.#watchers.get(roomId) ?? [])]) {
      // A failing egress watcher must not stop the others nor the room's event dispatch.
      try {
        listener(change);
      } catch (err) {
        this.#log.error({ err, roomId, change: change.type }, 'egress watcher failed');
      }
    }
  }
}
