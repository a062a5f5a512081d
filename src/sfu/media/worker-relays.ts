/**
 * The cross-worker side of a media worker's rooms: the channels to the other workers of the pool,
 * the relay ids of local tracks described to them, the exports (local publishers relayed to
 * another worker, with the Dynacast wishes made from there) and the proxies of publishers homed
 * on another worker (RemotePublisher), kept in step through the peer messages of relay.ts.
 * Not the packet path itself (RelaySink, RemoteUpTrack, PeerLink in relay.ts) and not the rooms'
 * local publishers and subscriptions (media-engine.ts).
 *
 * Lifecycle: created with the engine → addPeer()/peerDown() as the pool says → close().
 */

import type { MessagePort } from 'node:worker_threads';
import type { Clock } from '../../lib/clock.ts';
import { SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { HandoverStats, MediaState } from '../../protocol/sfu-api.ts';
import { primaryTracks } from './backup-codecs.ts';
import type { Export, RemotePublisher, Room } from './engine-room.ts';
import type { Publisher } from './publisher.ts';
import {
  describeTrack,
  PeerLink,
  type PeerMessage,
  type RelayedPublisher,
  type RelayedTrack,
  RelaySink,
  RemoteUpTrack,
} from './relay.ts';
import type { UpTrack } from './up-track.ts';

type Control = Exclude<PeerMessage, { t: 'rtp' }>;

/** What the relays need of the engine that holds the rooms. */
export interface RelayHooks {
  rooms: ReadonlyMap<RoomId, Room>;
  clock: Clock;
  /** The target is gone: every subscription to it closes (viewers are told or move on). */
  closeSubscriptionsTo(roomId: RoomId, room: Room, targetId: ParticipantId): void;
  dropRoomIfEmpty(roomId: RoomId, room: Room): void;
  /** A remote publisher added tracks: its subscribers here get them in a new offer. */
  renegotiateSubscribers(roomId: RoomId, room: Room, publisherId: ParticipantId, added: UpTrack[]): void;
}

export class WorkerRelays {
  readonly #hooks: RelayHooks;
  /** Channels to the other workers of the pool, by worker index. */
  readonly #links = new Map<number, PeerLink>();
  /** Relay ids of local published tracks that were described to another worker. */
  readonly #relayIds = new WeakMap<UpTrack, number>();
  readonly #outgoing = new Map<number, { roomId: RoomId; publisherId: ParticipantId; up: UpTrack }>();
  #nextRelayId = 1;
  /** Hand-over counters of links already closed (handover() adds the live ones). */
  readonly #retired: HandoverStats = {
    batchesSent: 0,
    packetsSent: 0,
    batchesReceived: 0,
    packetsReceived: 0,
    malformed: 0,
    unknownTrack: 0,
  };

  constructor(hooks: RelayHooks) {
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

  /** A local publisher as described to another worker (the relay starts when that one says `want`). */
  describePublisher(roomId: RoomId, publisher: Publisher): RelayedPublisher {
    return {
      participantId: publisher.participantId,
      mediaState: { ...publisher.mediaState },
      // A backup codec (backup-codecs.ts) is not relayed: a subscriber on another worker is
      // offered the primary only (and told it is unsupported when it cannot decode it).
      tracks: primaryTracks(publisher.tracks.values()).map((up) =>
        this.describe(roomId, publisher.participantId, up),
      ),
    };
  }

  /** A channel to worker `index` (set up by the pool; replaces an older one). */
  addPeer(index: number, port: MessagePort): void {
    if (this.#links.has(index)) this.peerDown(index);
    this.#links.set(index, new PeerLink(index, port, (msg) => this.#onPeerMessage(index, msg)));
  }

  /** Worker `index` died: proxies of its publishers go (with their subscriptions), relays to it stop. */
  peerDown(index: number): void {
    const link = this.#links.get(index);
    this.#links.delete(index);
    for (const [roomId, room] of [...this.#hooks.rooms]) {
      for (const remote of [...room.remotes.values()])
        if (remote.fromWorker === index) this.#dropRemote(roomId, room, remote, false);
      for (const [publisherId, byWorker] of [...room.exports])
        if (byWorker.has(index)) this.#unexport(room, publisherId, index);
      this.#hooks.dropRoomIfEmpty(roomId, room);
    }
    if (link) {
      link.close();
      addHandover(this.#retired, link);
    }
  }

  /** Every channel goes (the engine closes). */
  close(): void {
    for (const index of [...this.#links.keys()]) this.peerDown(index);
  }

  /** Hand-over counters since start: the closed links' and the live ones'. */
  handover(): HandoverStats {
    return [...this.#links.values()].reduce((sum, link) => addHandover(sum, link), { ...this.#retired });
  }

  /** Tracks added to an exported publisher: relayed too, and announced to the other workers. */
  exportAdded(roomId: RoomId, room: Room, publisherId: ParticipantId, tracks: UpTrack[]): void {
    const added = primaryTracks(tracks);
    if (added.length === 0) return;
    for (const [to, exp] of room.exports.get(publisherId) ?? []) {
      const link = this.#links.get(to);
      if (!link) continue;
      const tracks = added.map((up) => this.describe(roomId, publisherId, up));
      for (const up of added) this.#attachRelay(exp, up, link);
      link.post({ t: 'tracks', roomId, publisherId, tracks });
    }
  }

  /** A local publisher's media state changed: the workers it is relayed to hear of it. */
  stateChanged(roomId: RoomId, room: Room, publisherId: ParticipantId, state: Partial<MediaState>): void {
    for (const to of room.exports.get(publisherId)?.keys() ?? [])
      this.#links.get(to)?.post({ t: 'state', roomId, publisherId, state: { ...state } });
  }

  /** A local publisher closes: other workers drop their proxies of it (and their subscriptions to it). */
  publisherClosed(roomId: RoomId, room: Room, publisher: Publisher): void {
    const publisherId = publisher.participantId;
    for (const to of [...(room.exports.get(publisherId)?.keys() ?? [])]) {
      this.#unexport(room, publisherId, to);
      this.#links.get(to)?.post({ t: 'gone', roomId, publisherId });
    }
    for (const up of publisher.tracks.values()) {
      const relayId = this.#relayIds.get(up);
      if (relayId !== undefined) this.#outgoing.delete(relayId);
    }
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
    const link = this.#links.get(fromWorker);
    if (!link) throw new SfuError('unavailable', `no channel to media worker ${fromWorker}`);
    const relayIds = new Set(description.tracks.map((t) => t.relayId));
    let remote = room.remotes.get(description.participantId);
    if (
      remote &&
      (remote.fromWorker !== fromWorker || [...remote.tracks.values()].some((t) => !relayIds.has(t.relayId)))
    ) {
      this.#dropRemote(roomId, room, remote, true);
      remote = undefined;
    }
    if (remote) {
      Object.assign(remote.mediaState, description.mediaState);
      this.#addRemoteTracks(remote, link, description.tracks);
      return remote;
    }
    return this.#newRemote(roomId, room, fromWorker, link, description);
  }

  /** A proxy nobody here subscribes to any more is dropped, and its relay stopped. */
  releaseRemote(roomId: RoomId, room: Room, targetId: ParticipantId): void {
    const remote = room.remotes.get(targetId);
    if (!remote) return;
    for (const entry of room.subscriptions.values()) if (entry.subscription.targetId === targetId) return;
    this.#dropRemote(roomId, room, remote, true);
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
    this.#addRemoteTracks(remote, link, description.tracks);
    link.post({
      t: 'want',
      roomId,
      publisherId: remote.participantId,
      relayIds: [...new Set(description.tracks.map((t) => t.relayId))],
    });
    return remote;
  }

  #addRemoteTracks(remote: RemotePublisher, link: PeerLink, tracks: RelayedTrack[]): RemoteUpTrack[] {
    const added: RemoteUpTrack[] = [];
    for (const track of tracks) {
      if (remote.tracks.has(track.mid)) continue;
      const up = new RemoteUpTrack({
        track,
        fromWorker: remote.fromWorker,
        clock: this.#hooks.clock,
        feedback: {
          keyframe: (relayId, ssrc) => link.post({ t: 'keyframe', relayId, ssrc }),
          wish: (relayId, subscriberId, spatial) => link.post({ t: 'wish', relayId, subscriberId, spatial }),
        },
      });
      remote.tracks.set(track.mid, up);
      link.incoming.set(track.relayId, up);
      added.push(up);
    }
    return added;
  }

  /** Drops a proxy and every subscription to it; `notify`: tell its worker to stop relaying. */
  #dropRemote(roomId: RoomId, room: Room, remote: RemotePublisher, notify: boolean): void {
    if (room.remotes.get(remote.participantId) !== remote) return;
    this.#hooks.closeSubscriptionsTo(roomId, room, remote.participantId);
    room.remotes.delete(remote.participantId);
    const link = this.#links.get(remote.fromWorker);
    for (const up of remote.tracks.values()) {
      if (link?.incoming.get(up.relayId) === up) link.incoming.delete(up.relayId);
      up.close();
    }
    remote.tracks.clear();
    if (notify) link?.post({ t: 'unwant', roomId, publisherId: remote.participantId });
  }

  #attachRelay(exp: Export, up: UpTrack, link: PeerLink): void {
    if (exp.sinks.has(up)) return;
    const sink = new RelaySink(this.#relayIds.get(up)!, link);
    exp.sinks.set(up, sink);
    up.sinks.add(sink);
  }

  /** Stops relaying a local publisher to worker `to`, and forgets the wishes made from there. */
  #unexport(room: Room, publisherId: ParticipantId, to: number): void {
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

  #onPeerMessage(from: number, msg: Control): void {
    switch (msg.t) {
      case 'want':
        this.#onWant(from, msg);
        return;
      case 'unwant': {
        const room = this.#hooks.rooms.get(msg.roomId);
        if (!room) return;
        this.#unexport(room, msg.publisherId, from);
        this.#hooks.dropRoomIfEmpty(msg.roomId, room);
        return;
      }
      case 'gone': {
        const room = this.#hooks.rooms.get(msg.roomId);
        const remote = room?.remotes.get(msg.publisherId);
        if (!room || !remote || remote.fromWorker !== from) return;
        this.#dropRemote(msg.roomId, room, remote, false);
        this.#hooks.dropRoomIfEmpty(msg.roomId, room);
        return;
      }
      case 'tracks':
        this.#onTracks(from, msg);
        return;
      case 'state': {
        const remote = this.#hooks.rooms.get(msg.roomId)?.remotes.get(msg.publisherId);
        if (remote && remote.fromWorker === from) Object.assign(remote.mediaState, msg.state);
        return;
      }
      case 'keyframe':
        this.#outgoing.get(msg.relayId)?.up.requestKeyframe(msg.ssrc === 0 ? undefined : msg.ssrc);
        return;
      case 'wish':
        this.#onWish(from, msg);
        return;
      case 'sr':
        this.#links
          .get(from)
          ?.incoming.get(msg.relayId)
          ?.onSenderReport(msg.ssrc, msg.ntpMs, msg.rtpTimestamp);
        return;
      case 'resumed':
        this.#links.get(from)?.incoming.get(msg.relayId)?.resumed();
        return;
    }
  }

  /** Worker `from` subscribes to a publisher homed here: its tracks are relayed there from now on. */
  #onWant(from: number, msg: Extract<Control, { t: 'want' }>): void {
    const room = this.#hooks.rooms.get(msg.roomId);
    const publisher = room?.publishers.get(msg.publisherId);
    const link = this.#links.get(from);
    if (!link) return;
    const current = new Set(
      primaryTracks(publisher?.tracks.values() ?? []).map((up) => this.#relayIds.get(up)),
    );
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
    const fresh: RelayedTrack[] = [];
    for (const up of primaryTracks(publisher.tracks.values())) {
      const track = this.describe(msg.roomId, msg.publisherId, up);
      this.#attachRelay(exp, up, link);
      if (!known.has(track.relayId)) fresh.push(track);
    }
    if (fresh.length > 0)
      link.post({ t: 'tracks', roomId: msg.roomId, publisherId: msg.publisherId, tracks: fresh });
  }

  /** The publisher behind a proxy here added tracks. */
  #onTracks(from: number, msg: Extract<Control, { t: 'tracks' }>): void {
    const room = this.#hooks.rooms.get(msg.roomId);
    const remote = room?.remotes.get(msg.publisherId);
    const link = this.#links.get(from);
    if (!room || !remote || remote.fromWorker !== from || !link) return;
    const added = this.#addRemoteTracks(remote, link, msg.tracks);
    if (added.length > 0) this.#hooks.renegotiateSubscribers(msg.roomId, room, msg.publisherId, added);
  }

  /** A subscriber on worker `from` changed its Dynacast wish for a track relayed there. */
  #onWish(from: number, msg: Extract<Control, { t: 'wish' }>): void {
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
}

function addHandover(sum: HandoverStats, link: PeerLink): HandoverStats {
  sum.batchesSent += link.writer.batches;
  sum.packetsSent += link.writer.packets;
  sum.batchesReceived += link.stats.batchesIn;
  sum.packetsReceived += link.stats.packetsIn;
  sum.malformed += link.stats.malformed;
  sum.unknownTrack += link.stats.unknownTrack;
  return sum;
}
