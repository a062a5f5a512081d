/**
 * The subscriber's side of the relays between media workers: the proxies of publishers homed on
 * another worker (RemotePublisher, its RemoteUpTracks fed by the channel), made when a subscriber
 * here first needs one (which says `want`), completed when that publisher adds tracks, and dropped
 * with their subscriptions when nobody here needs them (`unwant`), when the publisher is `gone`
 * or when its worker is down. A proxy holds the publisher's backup codec tracks too
 * (backup-codecs.ts): a subscriber here who cannot decode the camera is given the backup, as on
 * the publisher's worker, and the backup is relayed only while someone here is given it (`want`
 * says again which). Not the channels (worker-relays.ts) and not the exports of local publishers
 * (relay-exports.ts).
 */

import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { RemotePublisher, Room } from './engine-room.ts';
import {
  type PeerLink,
  type PeerMessageOf,
  type RelayedPublisher,
  type RelayedTrack,
  RemoteUpTrack,
} from './relay.ts';
import type { UpTrack } from './up-track.ts';

/** What the proxies need of the engine that holds the rooms, and of the channels. */
export interface RemoteHooks {
  rooms: ReadonlyMap<RoomId, Room>;
  clock: Clock;
  /** The channel to worker `index`, if there is one. */
  link(index: number): PeerLink | undefined;
  /** The target is gone: every subscription to it closes (viewers are told or move on). */
  closeSubscriptionsTo(roomId: RoomId, room: Room, targetId: ParticipantId): void;
  dropRoomIfEmpty(roomId: RoomId, room: Room): void;
  /** A remote publisher added tracks: its subscribers here get them in a new offer. */
  renegotiateSubscribers(roomId: RoomId, room: Room, publisherId: ParticipantId, added: UpTrack[]): void;
}

export class RemotePublishers {
  readonly #hooks: RemoteHooks;
  /**
   * Per live proxy: who here is given each of its backups (relay id → subscribers), known from
   * their Dynacast wishes (every video DownTrack states one while it exists). A dropped proxy has
   * none: its closing subscriptions say nothing more to the publisher's worker.
   */
  readonly #backupReceivers = new WeakMap<RemotePublisher, Map<number, Set<ParticipantId>>>();

  constructor(hooks: RemoteHooks) {
    this.#hooks = hooks;
  }

  /**
   * The proxy of a publisher homed on worker `fromWorker` (created, or completed with tracks it
   * did not have). A proxy of an older instance of that publisher (it published again) is dropped
   * with its subscriptions first.
   */
  remotePublisher(
    roomId: RoomId,
    room: Room,
    fromWorker: number,
    description: RelayedPublisher,
  ): RemotePublisher {
    const link = this.#hooks.link(fromWorker);
    if (!link) throw new SfuError('unavailable', `no channel to media worker ${fromWorker}`);
    const relayIds = new Set(description.tracks.map((t) => t.relayId));
    let remote = room.remotes.get(description.participantId);
    if (
      remote &&
      (remote.fromWorker !== fromWorker || [...remote.tracks.values()].some((t) => !relayIds.has(t.relayId)))
    ) {
      this.drop(roomId, room, remote, true);
      remote = undefined;
    }
    if (remote) {
      Object.assign(remote.mediaState, description.mediaState);
      this.#addRemoteTracks(roomId, remote, link, description.tracks);
      return remote;
    }
    return this.#newRemote(roomId, room, fromWorker, link, description);
  }

  /** A proxy nobody here subscribes to any more is dropped, and its relay stopped. */
  releaseRemote(roomId: RoomId, room: Room, targetId: ParticipantId): void {
    const remote = room.remotes.get(targetId);
    if (!remote) return;
    for (const entry of room.subscriptions.values()) if (entry.subscription.targetId === targetId) return;
    this.drop(roomId, room, remote, true);
  }

  /** Drops a proxy and every subscription to it; `notify`: tell its worker to stop relaying. */
  drop(roomId: RoomId, room: Room, remote: RemotePublisher, notify: boolean): void {
    if (room.remotes.get(remote.participantId) !== remote) return;
    this.#backupReceivers.delete(remote);
    this.#hooks.closeSubscriptionsTo(roomId, room, remote.participantId);
    room.remotes.delete(remote.participantId);
    const link = this.#hooks.link(remote.fromWorker);
    for (const up of remote.tracks.values()) {
      if (link?.incoming.get(up.relayId) === up) link.incoming.delete(up.relayId);
      up.close();
    }
    remote.tracks.clear();
    if (notify) link?.post({ t: 'unwant', roomId, publisherId: remote.participantId });
  }

  /** The publisher behind a proxy here left (or published again). */
  onGone(from: number, msg: PeerMessageOf<'gone'>): void {
    const room = this.#hooks.rooms.get(msg.roomId);
    const remote = room?.remotes.get(msg.publisherId);
    if (!room || !remote || remote.fromWorker !== from) return;
    this.drop(msg.roomId, room, remote, false);
    this.#hooks.dropRoomIfEmpty(msg.roomId, room);
  }

  /** The publisher behind a proxy here added tracks. */
  onTracks(from: number, msg: PeerMessageOf<'tracks'>): void {
    const room = this.#hooks.rooms.get(msg.roomId);
    const remote = room?.remotes.get(msg.publisherId);
    const link = this.#hooks.link(from);
    if (!room || !remote || remote.fromWorker !== from || !link) return;
    const added = this.#addRemoteTracks(msg.roomId, remote, link, msg.tracks);
    if (added.length > 0) this.#hooks.renegotiateSubscribers(msg.roomId, room, msg.publisherId, added);
  }

  /** The media state of the publisher behind a proxy here changed. */
  onState(from: number, msg: PeerMessageOf<'state'>): void {
    const remote = this.#hooks.rooms.get(msg.roomId)?.remotes.get(msg.publisherId);
    if (remote && remote.fromWorker === from) Object.assign(remote.mediaState, msg.state);
  }

  #newRemote(
    roomId: RoomId,
    room: Room,
    fromWorker: number,
    link: PeerLink,
    description: RelayedPublisher,
  ): RemotePublisher {
    const remote: RemotePublisher = {
      participantId: description.participantId,
      fromWorker,
      mediaState: { ...description.mediaState },
      tracks: new Map(),
    };
    room.remotes.set(remote.participantId, remote);
    this.#backupReceivers.set(remote, new Map());
    this.#addRemoteTracks(roomId, remote, link, description.tracks);
    link.post({
      t: 'want',
      roomId,
      publisherId: remote.participantId,
      relayIds: [...new Set(description.tracks.map((t) => t.relayId))],
    });
    return remote;
  }

  #addRemoteTracks(
    roomId: RoomId,
    remote: RemotePublisher,
    link: PeerLink,
    tracks: RelayedTrack[],
  ): RemoteUpTrack[] {
    const added: RemoteUpTrack[] = [];
    for (const track of tracks) {
      if (remote.tracks.has(track.mid)) continue;
      const backup = track.backupOf !== undefined;
      const up = new RemoteUpTrack({
        track,
        fromWorker: remote.fromWorker,
        clock: this.#hooks.clock,
        feedback: {
          keyframe: (relayId, ssrc) => link.post({ t: 'keyframe', relayId, ssrc }),
          wish: (relayId, subscriberId, spatial) => {
            link.post({ t: 'wish', relayId, subscriberId, spatial });
            if (backup) this.#backupWish(roomId, remote, link, relayId, subscriberId, spatial !== null);
          },
        },
      });
      remote.tracks.set(track.mid, up);
      link.incoming.set(track.relayId, up);
      added.push(up);
    }
    return added;
  }

  /**
   * A subscriber here was given a backup of `remote` (`given`) or no longer is: when that makes
   * the first or removes the last receiver of it here, `want` tells the publisher's worker again
   * which backups to relay.
   */
  #backupWish(
    roomId: RoomId,
    remote: RemotePublisher,
    link: PeerLink,
    relayId: number,
    subscriberId: ParticipantId,
    given: boolean,
  ): void {
    const receivers = this.#backupReceivers.get(remote);
    if (!receivers) return;
    const before = receivers.has(relayId);
    const who = receivers.get(relayId) ?? new Set<ParticipantId>();
    if (given) who.add(subscriberId);
    else who.delete(subscriberId);
    if (who.size > 0) receivers.set(relayId, who);
    else receivers.delete(relayId);
    if (receivers.has(relayId) === before) return;
    link.post({
      t: 'want',
      roomId,
      publisherId: remote.participantId,
      relayIds: [...remote.tracks.values()].map((t) => t.relayId),
      backups: [...receivers.keys()],
    });
  }
}
