import { type Clock, systemClock } from '../lib/clock.ts';
import { SfuError } from '../lib/errors.ts';
import type { NodeId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { EgressInfo, EgressRequest, EgressStopRequest } from '../protocol/egress.ts';
import type {
  JoinRequest,
  JoinResponse,
  MediaStateRequest,
  ParticipantRef,
  PublisherCandidateRequest,
  PublisherOfferRequest,
  RoomInspection,
  SfuApi,
  SfuDump,
  SfuEvent,
  SubscribeRequest,
  SubscribeResponse,
  SubscriberAnswerRequest,
  SubscriberAnswerResponse,
  SubscriberCandidateRequest,
} from '../protocol/sfu-api.ts';
import { KnownNodes } from './known-nodes.ts';
import { type NodeClient, NodeClients } from './node-clients.ts';
import type { NodeDirectory, NodeInfo } from './node-directory.ts';
import { NodeFailover } from './node-failover.ts';
import { RegistryWatch } from './registry-watch.ts';
import { RoomLink } from './room-link.ts';
import { RoomParticipants } from './room-participants.ts';
import { directoryError, RoomPlacements } from './room-placements.ts';
import { sumDumps } from './sum-dumps.ts';

export type { NodeClient } from './node-clients.ts';

export interface DispatcherOptions {
  directory: NodeDirectory;
  /** Creates the client of a node; called once per node (again if its address changes). */
  connect: (node: NodeInfo) => NodeClient;
  /** New rooms go to nodes of this group only. */
  groupId: string;
  logger: Logger;
  clock?: Clock;
  /** How often the placements in use are checked against the live nodes (default 1000 ms). */
  monitorIntervalMs?: number;
  /** A node whose event stream broke must answer within this time or it is lost (default 1500 ms). */
  probeTimeoutMs?: number;
  /**
   * A node hosting rooms whose registration vanished but that still answers (Redis restarted empty
   * and the node has not re-registered yet) is kept this long before it is lost (default 10000 ms).
   */
  unregisteredGraceMs?: number;
}

/**
 * Implements SfuApi for a signalling instance of a cluster: each call goes to the SFU node that
 * hosts the room; `join` places a new room on the least-loaded live node of the group (the
 * directory's atomic claim makes concurrent instances agree). When a room's node dies (its event
 * stream breaks and it does not answer, or its registration expires), the participants this
 * instance joined there get `participantLost` (reason `node_lost`) on the room's events and the
 * room's mapping is dropped, so their next `join` places the room on a live node.
 *
 * Placement, node clients, failover probes and the registry watch live in their own files; this
 * class routes the calls and keeps the rooms' participants and event streams.
 *
 * Lifecycle: constructed → calls… → close(). The registry watch's timer runs until close().
 */
export class Dispatcher implements SfuApi {
  readonly #directory: NodeDirectory;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #probeTimeoutMs: number;
  readonly #nodes: KnownNodes;
  readonly #clients: NodeClients;
  readonly #placements: RoomPlacements;
  readonly #failover: NodeFailover;
  readonly #watch: RegistryWatch;
  /** Participants joined through this dispatcher, per room: who to report when the node dies. */
  readonly #participants = new RoomParticipants();
  readonly #links = new Map<RoomId, RoomLink>();
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#directory = options.directory;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#nodes = new KnownNodes(this.#clock);
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 1500;
    this.#clients = new NodeClients(this.#nodes, options.connect);
    this.#placements = new RoomPlacements({
      directory: options.directory,
      nodes: this.#nodes,
      groupId: options.groupId,
      logger: this.#log,
      onMoved: (roomId, to) => this.#roomMoved(roomId, to),
    });
    const onLost = (nodeId: NodeId, reason: unknown) => this.#nodeLost(nodeId, reason);
    this.#failover = new NodeFailover({
      clients: this.#clients,
      clock: this.#clock,
      probeTimeoutMs: this.#probeTimeoutMs,
      onLost,
    });
    this.#watch = new RegistryWatch({
      directory: options.directory,
      nodes: this.#nodes,
      placements: this.#placements,
      links: this.#links,
      failover: this.#failover,
      onLost,
      onMoved: (roomId, to) => this.#roomMoved(roomId, to),
      clock: this.#clock,
      logger: this.#log,
      intervalMs: options.monitorIntervalMs ?? 1000,
      unregisteredGraceMs: options.unregisteredGraceMs ?? 10_000,
    });
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    const nodeId = await this.#placements.place(req.roomId).catch((err: unknown) => {
      throw directoryError(err);
    });
    this.#nodes.addPending(nodeId);
    // Listen to the room on its node before the join, so that nothing it says afterwards is lost.
    const link = this.#link(req.roomId);
    link.open();
    if (!(await link.opened(nodeId, this.#probeTimeoutMs)))
      this.#log.warn({ roomId: req.roomId, nodeId }, 'room event stream not confirmed before join');
    let res: JoinResponse;
    try {
      res = await this.#call(nodeId, (c) => c.join(req));
    } catch (err) {
      this.#closeLinkIfUnused(req.roomId);
      throw err;
    }
    this.#participants.add(req.roomId, req.participantId, nodeId);
    return res;
  }

  // A room no node hosts has no publisher and no subscription: the answers are the ones a node
  // gives for an empty room (so the three SfuApi implementations behave alike).

  async subscribe(req: SubscribeRequest): Promise<SubscribeResponse> {
    const nodeId = await this.#placements.freshHost(req.roomId);
    if (!nodeId)
      throw new SfuError('not_found', `participant ${req.targetId} publishes nothing in room ${req.roomId}`);
    return this.#call(nodeId, (c) => c.subscribe(req));
  }

  async setSubscriberAnswer(req: SubscriberAnswerRequest): Promise<SubscriberAnswerResponse> {
    const nodeId = await this.#placements.host(req.roomId);
    if (!nodeId)
      throw new SfuError('not_found', `no subscription of ${req.participantId} to ${req.targetId}`);
    return this.#call(nodeId, (c) => c.setSubscriberAnswer(req));
  }

  async renegotiatePublisher(req: PublisherOfferRequest): Promise<{ sdp: string }> {
    const nodeId = await this.#placements.host(req.roomId);
    if (!nodeId) throw new SfuError('invalid_state', `participant ${req.participantId} has not published`);
    return this.#call(nodeId, (c) => c.renegotiatePublisher(req));
  }

  async addPublisherCandidate(req: PublisherCandidateRequest): Promise<void> {
    const nodeId = await this.#placements.host(req.roomId);
    if (nodeId) await this.#call(nodeId, (c) => c.addPublisherCandidate(req));
  }

  async addSubscriberCandidate(req: SubscriberCandidateRequest): Promise<void> {
    const nodeId = await this.#placements.host(req.roomId);
    if (nodeId) await this.#call(nodeId, (c) => c.addSubscriberCandidate(req));
  }

  async setMediaState(req: MediaStateRequest): Promise<void> {
    const nodeId = await this.#placements.host(req.roomId);
    if (nodeId) await this.#call(nodeId, (c) => c.setMediaState(req));
  }

  async leave(req: ParticipantRef): Promise<void> {
    this.#participants.remove(req.roomId, req.participantId);
    // A room no node hosts (its node died) has nothing left to close.
    const nodeId = await this.#placements.host(req.roomId);
    try {
      if (nodeId) await this.#call(nodeId, (c) => c.leave(req));
    } finally {
      this.#closeLinkIfUnused(req.roomId);
    }
  }

  async *events(roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent> {
    if (signal.aborted) return;
    const link = this.#link(roomId);
    try {
      yield* link.listen(signal);
    } finally {
      this.#closeLinkIfUnused(roomId);
    }
  }

  async startEgress(req: EgressRequest): Promise<EgressInfo> {
    return this.#call(await this.#requireEgressHost(req.roomId), (c) => c.startEgress(req));
  }

  async stopEgress(req: EgressStopRequest): Promise<EgressInfo> {
    return this.#call(await this.#requireEgressHost(req.roomId), (c) => c.stopEgress(req));
  }

  /**
   * The room's egresses, from the node hosting it now. A node that died took its egresses with it:
   * once this instance knows the node is lost, the list is the new node's (none of the old ones).
   */
  async listEgress(roomId: RoomId): Promise<EgressInfo[]> {
    const nodeId = await this.#egressHost(roomId);
    return nodeId ? this.#call(nodeId, (c) => c.listEgress(roomId)) : [];
  }

  /**
   * The room on the node hosting it now (read from the directory as for egress: the admin's
   * request may reach an instance that routes nobody of the room); empty when no node hosts it.
   */
  async inspectRoom(roomId: RoomId): Promise<RoomInspection> {
    const nodeId = await this.#egressHost(roomId);
    return nodeId
      ? this.#call(nodeId, (c) => c.inspectRoom(roomId))
      : { roomId, nodeId: '', participants: [] };
  }

  /**
   * An egress runs on the node hosting the room, read from the directory: egress calls come from
   * the host's REST requests, which may reach an instance that routes nobody of the room and would
   * otherwise keep (and use) a placement that went stale when the room moved. Such an instance
   * does not keep the placement either: nothing of the room would ever update or drop it.
   */
  async #egressHost(roomId: RoomId): Promise<NodeId | undefined> {
    const nodeId = await this.#placements.freshHost(roomId);
    if (!this.#links.has(roomId) && !this.#participants.has(roomId)) this.#placements.forget(roomId);
    return nodeId;
  }

  /** A room with no node has nothing to egress. */
  async #requireEgressHost(roomId: RoomId): Promise<NodeId> {
    const nodeId = await this.#egressHost(roomId);
    if (!nodeId) throw new SfuError('not_found', 'the room has no media on any node');
    return nodeId;
  }

  async dump(): Promise<SfuDump> {
    const nodes = await this.#placements.refreshNodes().catch((err: unknown) => {
      throw directoryError(err);
    });
    const dumps = await Promise.all(nodes.map((n) => this.#call(n.nodeId, (c) => c.dump())));
    return sumDumps(dumps);
  }

  /** Rooms this instance routes and the node of each (for the admin view and tests). */
  placements(): Map<RoomId, NodeId> {
    return this.#placements.snapshot();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.stop();
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    this.#clients.close();
  }

  #link(roomId: RoomId): RoomLink {
    let link = this.#links.get(roomId);
    if (!link) {
      link = new RoomLink(roomId, {
        resolveNode: () => this.#placements.host(roomId),
        client: (nodeId) => this.#clients.get(nodeId),
        onEvent: (event) => this.#onNodeEvent(roomId, event),
        onStreamFailed: (nodeId, err) => this.#failover.suspect(nodeId, err),
        clock: this.#clock,
        logger: this.#log.child({ roomId }),
      });
      this.#links.set(roomId, link);
    }
    return link;
  }

  /** Stops following a room this instance has neither participants nor listeners in. */
  #closeLinkIfUnused(roomId: RoomId): void {
    if (this.#participants.has(roomId)) return;
    const link = this.#links.get(roomId);
    if (link && link.listenerCount > 0) return;
    link?.close();
    this.#links.delete(roomId);
    // The directory keeps the placement; this instance forgets it.
    this.#placements.forget(roomId);
  }

  async #call<T>(nodeId: NodeId, op: (client: NodeClient) => Promise<T>): Promise<T> {
    try {
      return await op(this.#clients.get(nodeId));
    } catch (err) {
      // An unreachable node may have died: find out now rather than at its registration's expiry.
      if (err instanceof SfuError && err.code === 'unavailable') void this.#failover.suspect(nodeId, err);
      throw err;
    }
  }

  #onNodeEvent(roomId: RoomId, event: SfuEvent): void {
    if (event.type !== 'participantLost') return;
    this.#participants.remove(roomId, event.participantId);
  }

  /**
   * The directory maps the room to another live node: another instance declared the old one lost
   * (it could not reach it; this one still can) and placed the room anew, or the mapping was
   * dropped and claimed again. The room must not stay split: the participants this instance joined
   * on the old node leave it and are told to publish again, as when a node dies, so that they
   * rejoin where the rest of the room is.
   */
  #roomMoved(roomId: RoomId, to: NodeId): void {
    const link = this.#links.get(roomId);
    link?.restart();
    const left = this.#participants.takeJoinedElsewhere(roomId, to);
    if (left.length === 0) return;
    this.#log.warn(
      { roomId, to, participants: left.map(([participantId, from]) => ({ participantId, from })) },
      'room moved to another node: its participants here rejoin there',
    );
    for (const [participantId, from] of left) {
      if (this.#nodes.has(from))
        this.#call(from, (c) => c.leave({ roomId, participantId })).catch((err: unknown) =>
          this.#log.warn({ err, roomId, participantId, nodeId: from }, 'leaving the old node failed'),
        );
      link?.deliver({ type: 'participantLost', participantId, reason: 'node_lost' });
    }
  }

  #nodeLost(nodeId: NodeId, reason: unknown): void {
    if (this.#closed) return;
    this.#nodes.markLost(nodeId);
    this.#clients.drop(nodeId);
    const rooms = this.#placements.roomsOn(nodeId);
    this.#log.warn(
      { nodeId, rooms, reason: reason instanceof Error ? reason.message : String(reason) },
      'SFU node lost',
    );
    for (const roomId of rooms) {
      this.#placements.forget(roomId);
      this.#directory
        .releaseRoom(roomId, nodeId)
        // The mapping also expires without its node's heartbeat; a failure here only delays that.
        .catch((err: unknown) => this.#log.warn({ err, roomId }, 'releasing a lost room failed'));
      const lost = this.#participants.take(roomId);
      const link = this.#links.get(roomId);
      for (const participantId of lost)
        link?.deliver({ type: 'participantLost', participantId, reason: 'node_lost' });
      link?.restart();
      this.#closeLinkIfUnused(roomId);
    }
  }
}
