/**
 * The publisher's side of the relays between media workers: the relay ids of local tracks
 * described to other workers, and the exports (a local publisher relayed to another worker: one
 * RelaySink per track there, the Dynacast wishes made from there), driven by that worker's
 * `want`, `unwant`, `wish` and `keyframe` (relay.ts). A publisher is described with its backup
 * codec's track (backup-codecs.ts); its primary tracks are relayed from the first `want`, a backup
 * only while the `want` lists it (a subscriber there is given it). Not the channels
 * (worker-relays.ts) and not the proxies of publishers homed elsewhere (remote-publishers.ts).
 */

import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { MediaState } from '../../protocol/sfu-api.ts';
import type { Export, Room } from './engine-room.ts';
import type { Publisher } from './publisher.ts';
import {
  describeTrack,
  type PeerLink,
  type PeerMessageOf,
  type RelayedPublisher,
  type RelayedTrack,
  RelaySink,
} from './relay.ts';
import type { UpTrack } from './up-track.ts';

/** What the exports need of the engine and of the channels. */
export interface ExportHooks {
  rooms: ReadonlyMap<RoomId, Room>;
  /** The channel to worker `index`, if there is one. */
  link(index: number): PeerLink | undefined;
  dropRoomIfEmpty(roomId: RoomId, room: Room): void;
}

export class RelayExports {
  readonly #hooks: ExportHooks;
  /** Relay ids of local published tracks that were described to another worker. */
  readonly #relayIds = new WeakMap<UpTrack, number>();
  readonly #outgoing = new Map<number, { roomId: RoomId; publisherId: ParticipantId; up: UpTrack }>();
  #nextRelayId = 1;

  constructor(hooks: ExportHooks) {
    this.#hooks = hooks;
  }

  /** Relay id of a local track (assigned on first description), registered for feedback. */
  describe(roomId: RoomId, publisherId: ParticipantId, up: UpTrack): RelayedTrack {
    let relayId = this.#relayIds.get(up);
    if (relayId === undefined) {
      relayId = this.#nextRelayId++;
      this.#relayIds.set(up, relayId);
      this.#outgoing.set(relayId, { roomId, publisherId, up });
    }
    return describeTrack(relayId, up);
  }

  /**
   * A local publisher as described to another worker, backups included: that worker offers a
   * backup to whom there cannot decode its camera, as this one does. The relay starts when that
   * worker says `want`.
   */
  describePublisher(roomId: RoomId, publisher: Publisher): RelayedPublisher {
    return {
      participantId: publisher.participantId,
      mediaState: { ...publisher.mediaState },
      tracks: [...publisher.tracks.values()].map((up) => this.describe(roomId, publisher.participantId, up)),
    };
  }

  /** Tracks added to an exported publisher: announced to the other workers, its primaries relayed. */
  exportAdded(roomId: RoomId, room: Room, publisherId: ParticipantId, added: UpTrack[]): void {
    if (added.length === 0) return;
    for (const [to, exp] of room.exports.get(publisherId) ?? []) {
      const link = this.#hooks.link(to);
      if (!link) continue;
      const tracks = added.map((up) => this.describe(roomId, publisherId, up));
      for (const up of added) if (up.backupOf === undefined) this.#attachRelay(exp, up, link);
      link.post({ t: 'tracks', roomId, publisherId, tracks });
    }
  }

  /** A local publisher's media state changed: the workers it is relayed to hear of it. */
  stateChanged(roomId: RoomId, room: Room, publisherId: ParticipantId, state: Partial<MediaState>): void {
    for (const to of room.exports.get(publisherId)?.keys() ?? [])
      this.#hooks.link(to)?.post({ t: 'state', roomId, publisherId, state: { ...state } });
  }

  /** A local publisher closes: other workers drop their proxies of it (and their subscriptions to it). */
  publisherClosed(roomId: RoomId, room: Room, publisher: Publisher): void {
    const publisherId = publisher.participantId;
    for (const to of [...(room.exports.get(publisherId)?.keys() ?? [])]) {
      this.unexport(room, publisherId, to);
      this.#hooks.link(to)?.post({ t: 'gone', roomId, publisherId });
    }
    for (const up of publisher.tracks.values()) {
      const relayId = this.#relayIds.get(up);
      if (relayId !== undefined) this.#outgoing.delete(relayId);
    }
  }

  /** Stops relaying a local publisher to worker `to`, and forgets the wishes made from there. */
  unexport(room: Room, publisherId: ParticipantId, to: number): void {
    const byWorker = room.exports.get(publisherId);
    const exp = byWorker?.get(to);
    if (!byWorker || !exp) return;
    for (const [up, sink] of exp.sinks) up.sinks.delete(sink);
    for (const key of exp.wishes) {
      const slash = key.indexOf('/');
      this.#outgoing.get(Number(key.slice(0, slash)))?.up.removeSubscriberWish(key.slice(slash + 1));
    }
    byWorker.delete(to);
    if (byWorker.size === 0) room.exports.delete(publisherId);
  }

  /**
   * Worker `from` subscribes to a publisher homed here: its primary tracks are relayed there from
   * now on, and the backups `want` lists (a `want` again without one stops that one).
   */
  onWant(from: number, msg: PeerMessageOf<'want'>): void {
    const room = this.#hooks.rooms.get(msg.roomId);
    const publisher = room?.publishers.get(msg.publisherId);
    const link = this.#hooks.link(from);
    if (!link) return;
    const current = new Set([...(publisher?.tracks.values() ?? [])].map((up) => this.#relayIds.get(up)));
    if (!room || !publisher || msg.relayIds.some((id) => !current.has(id))) {
      // It left or published again since it was described: the other side drops its proxy.
      link.post({ t: 'gone', roomId: msg.roomId, publisherId: msg.publisherId });
      return;
    }
    let byWorker = room.exports.get(msg.publisherId);
    if (!byWorker) {
      byWorker = new Map();
      room.exports.set(msg.publisherId, byWorker);
    }
    let exp = byWorker.get(from);
    if (!exp) {
      exp = { sinks: new Map(), wishes: new Set() };
      byWorker.set(from, exp);
    }
    const known = new Set(msg.relayIds);
    const backups = new Set(msg.backups);
    const fresh: RelayedTrack[] = [];
    for (const up of publisher.tracks.values()) {
      const track = this.describe(msg.roomId, msg.publisherId, up);
      if (up.backupOf === undefined || backups.has(track.relayId)) this.#attachRelay(exp, up, link);
      else this.#detachRelay(exp, up);
      if (!known.has(track.relayId)) fresh.push(track);
    }
    if (fresh.length > 0)
      link.post({ t: 'tracks', roomId: msg.roomId, publisherId: msg.publisherId, tracks: fresh });
  }

  /** No subscriber on worker `from` needs the publisher any more. */
  onUnwant(from: number, msg: PeerMessageOf<'unwant'>): void {
    const room = this.#hooks.rooms.get(msg.roomId);
    if (!room) return;
    this.unexport(room, msg.publisherId, from);
    this.#hooks.dropRoomIfEmpty(msg.roomId, room);
  }

  /** A subscriber on another worker needs a keyframe of a track relayed there. */
  onKeyframe(msg: PeerMessageOf<'keyframe'>): void {
    this.#outgoing.get(msg.relayId)?.up.requestKeyframe(msg.ssrc === 0 ? undefined : msg.ssrc);
  }

  /** A subscriber on worker `from` changed its Dynacast wish for a track relayed there. */
  onWish(from: number, msg: PeerMessageOf<'wish'>): void {
    const out = this.#outgoing.get(msg.relayId);
    const exp = out && this.#hooks.rooms.get(out.roomId)?.exports.get(out.publisherId)?.get(from);
    if (!out || !exp) return;
    const key = `${msg.relayId}/${msg.subscriberId}`;
    if (msg.spatial === null) {
      out.up.removeSubscriberWish(msg.subscriberId);
      exp.wishes.delete(key);
    } else {
      out.up.setSubscriberWish(msg.subscriberId, msg.spatial);
      exp.wishes.add(key);
    }
  }

  #attachRelay(exp: Export, up: UpTrack, link: PeerLink): void {
    if (exp.sinks.has(up)) return;
    const sink = new RelaySink(this.#relayIds.get(up)!, link);
    exp.sinks.set(up, sink);
    up.sinks.add(sink);
  }

  #detachRelay(exp: Export, up: UpTrack): void {
    const sink = exp.sinks.get(up);
    if (!sink) return;
    up.sinks.delete(sink);
    exp.sinks.delete(up);
  }
}
