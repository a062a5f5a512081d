/**
 * The cross-worker side of a media worker's rooms: the channels to the other workers of the pool
 * (one PeerLink each, relay.ts), the peer messages read off them and handed to the side they
 * concern — the exports of local publishers (relay-exports.ts) or the proxies of publishers homed
 * elsewhere (remote-publishers.ts) — and what a worker going down takes with it. Not the packet
 * path itself (RelaySink, RemoteUpTrack, PeerLink in relay.ts) and not the rooms' local publishers
 * and subscriptions (media-engine.ts).
 *
 * Lifecycle: created with the engine → addPeer()/peerDown() as the pool says → close().
 */

import type { MessagePort } from 'node:worker_threads';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { HandoverStats, MediaState } from '../../protocol/sfu-api.ts';
import type { RemotePublisher, Room } from './engine-room.ts';
import type { Publisher } from './publisher.ts';
import { PeerLink, type PeerMessage, type RelayedPublisher, type RelayedTrack } from './relay.ts';
import { RelayExports } from './relay-exports.ts';
import { type RemoteHooks, RemotePublishers } from './remote-publishers.ts';
import type { UpTrack } from './up-track.ts';

type Control = Exclude<PeerMessage, { t: 'rtp' }>;

/** What the relays need of the engine that holds the rooms. */
export type RelayHooks = Omit<RemoteHooks, 'link'>;

export class WorkerRelays {
  readonly #hooks: RelayHooks;
  /** Channels to the other workers of the pool, by worker index. */
  readonly #links = new Map<number, PeerLink>();
  readonly #exports: RelayExports;
  readonly #remotes: RemotePublishers;
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
    const link = (index: number) => this.#links.get(index);
    this.#exports = new RelayExports({ rooms: hooks.rooms, link, dropRoomIfEmpty: hooks.dropRoomIfEmpty });
    this.#remotes = new RemotePublishers({ ...hooks, link });
  }

  /** Relay id of a local track (assigned on first description), registered for feedback. */
  describe(roomId: RoomId, publisherId: ParticipantId, up: UpTrack): RelayedTrack {
    return this.#exports.describe(roomId, publisherId, up);
  }

  /** A local publisher as described to another worker (the relay starts when that one says `want`). */
  describePublisher(roomId: RoomId, publisher: Publisher): RelayedPublisher {
    return this.#exports.describePublisher(roomId, publisher);
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
        if (remote.fromWorker === index) this.#remotes.drop(roomId, room, remote, false);
      for (const [publisherId, byWorker] of [...room.exports])
        if (byWorker.has(index)) this.#exports.unexport(room, publisherId, index);
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
    this.#exports.exportAdded(roomId, room, publisherId, tracks);
  }

  /** A local publisher's media state changed: the workers it is relayed to hear of it. */
  stateChanged(roomId: RoomId, room: Room, publisherId: ParticipantId, state: Partial<MediaState>): void {
    this.#exports.stateChanged(roomId, room, publisherId, state);
  }

  /** A local publisher closes: other workers drop their proxies of it (and their subscriptions to it). */
  publisherClosed(roomId: RoomId, room: Room, publisher: Publisher): void {
    this.#exports.publisherClosed(roomId, room, publisher);
  }

  /** The proxy of a publisher homed on worker `fromWorker` (remote-publishers.ts). */
  remotePublisher(
    roomId: RoomId,
    room: Room,
    fromWorker: number,
    description: RelayedPublisher,
  ): RemotePublisher {
    return this.#remotes.remotePublisher(roomId, room, fromWorker, description);
  }

  /** A proxy nobody here subscribes to any more is dropped, and its relay stopped. */
  releaseRemote(roomId: RoomId, room: Room, targetId: ParticipantId): void {
    this.#remotes.releaseRemote(roomId, room, targetId);
  }

  #onPeerMessage(from: number, msg: Control): void {
    switch (msg.t) {
      case 'want':
        this.#exports.onWant(from, msg);
        return;
      case 'unwant':
        this.#exports.onUnwant(from, msg);
        return;
      case 'keyframe':
        this.#exports.onKeyframe(msg);
        return;
      case 'wish':
        this.#exports.onWish(from, msg);
        return;
      case 'gone':
        this.#remotes.onGone(from, msg);
        return;
      case 'tracks':
        this.#remotes.onTracks(from, msg);
        return;
      case 'state':
        this.#remotes.onState(from, msg);
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
