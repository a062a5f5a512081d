import { type Clock, systemClock } from '../lib/clock.ts';
import { SfuError } from '../lib/errors.ts';
import type { NodeId, ParticipantId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import {
  type EgressInfo,
  type EgressRequest,
  type EgressStopRequest,
  sumEgressStats,
} from '../protocol/egress.ts';
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
import type { NodeDirectory, NodeInfo } from './node-directory.ts';
import { selectNode } from './node-selector.ts';
import { RoomLink } from './room-link.ts';

/** An SfuApi reaching one node (an SfuGrpcClient in a cluster); `close` ends its connection. */
export type NodeClient = SfuApi & { close?(): void };

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
 * Lifecycle: constructed → calls… → close(). The monitor timer runs until close().
 */
export class Dispatcher implements SfuApi {
  readonly #directory: NodeDirectory;
  readonly #connect: (node: NodeInfo) => NodeClient;
  readonly #groupId: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #probeTimeoutMs: number;
  readonly #nodes: KnownNodes;
  readonly #clients = new Map<NodeId, { address: string; client: NodeClient }>();
  readonly #roomNodes = new Map<RoomId, NodeId>();
  /** Participants joined through this dispatcher, per room: who to report when the node dies. */
  readonly #participants = new Map<RoomId, Set<ParticipantId>>();
  readonly #links = new Map<RoomId, RoomLink>();
  readonly #probes = new Map<NodeId, Promise<void>>();
  readonly #unregisteredGraceMs: number;
  readonly #stopMonitor: () => void;
  #monitoring = false;
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#directory = options.directory;
    this.#connect = options.connect;
    this.#groupId = options.groupId;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#nodes = new KnownNodes(this.#clock);
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 1500;
    this.#unregisteredGraceMs = options.unregisteredGraceMs ?? 10_000;
    this.#stopMonitor = this.#clock.setInterval(() => {
      // Errors are logged inside; a failed round is retried on the next tick.
      void this.#monitor();
    }, options.monitorIntervalMs ?? 1000);
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    const nodeId = await this.#place(req.roomId).catch((err: unknown) => {
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
    let known = this.#participants.get(req.roomId);
    if (!known) {
      known = new Set();
      this.#participants.set(req.roomId, known);
    }
    known.add(req.participantId);
    return res;
  }

  // A room no node hosts has no publisher and no subscription: the answers are the ones a node
  // gives for an empty room (so the three SfuApi implementations behave alike).

  async subscribe(req: SubscribeRequest): Promise<SubscribeResponse> {
    const nodeId = await this.#freshHost(req.roomId);
    if (!nodeId)
      throw new SfuError('not_found', `participant ${req.targetId} publishes nothing in room ${req.roomId}`);
    return this.#call(nodeId, (c) => c.subscribe(req));
  }

  async setSubscriberAnswer(req: SubscriberAnswerRequest): Promise<SubscriberAnswerResponse> {
    const nodeId = await this.#host(req.roomId);
    if (!nodeId)
      throw new SfuError('not_found', `no subscription of ${req.participantId} to ${req.targetId}`);
    return this.#call(nodeId, (c) => c.setSubscriberAnswer(req));
  }

  async renegotiatePublisher(req: PublisherOfferRequest): Promise<{ sdp: string }> {
    const nodeId = await this.#host(req.roomId);
    if (!nodeId) throw new SfuError('invalid_state', `participant ${req.participantId} has not published`);
    return this.#call(nodeId, (c) => c.renegotiatePublisher(req));
  }

  async addPublisherCandidate(req: PublisherCandidateRequest): Promise<void> {
    const nodeId = await this.#host(req.roomId);
    if (nodeId) await this.#call(nodeId, (c) => c.addPublisherCandidate(req));
  }

  async addSubscriberCandidate(req: SubscriberCandidateRequest): Promise<void> {
    const nodeId = await this.#host(req.roomId);
    if (nodeId) await this.#call(nodeId, (c) => c.addSubscriberCandidate(req));
  }

  async setMediaState(req: MediaStateRequest): Promise<void> {
    const nodeId = await this.#host(req.roomId);
    if (nodeId) await this.#call(nodeId, (c) => c.setMediaState(req));
  }

  async leave(req: ParticipantRef): Promise<void> {
    const known = this.#participants.get(req.roomId);
    known?.delete(req.participantId);
    if (known?.size === 0) this.#participants.delete(req.roomId);
    // A room no node hosts (its node died) has nothing left to close.
    const nodeId = await this.#host(req.roomId);
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
    const nodeId = await this.#freshHost(roomId);
    if (!this.#links.has(roomId) && !this.#participants.has(roomId)) this.#roomNodes.delete(roomId);
    return nodeId;
  }

  /** A room with no node has nothing to egress. */
  async #requireEgressHost(roomId: RoomId): Promise<NodeId> {
    const nodeId = await this.#egressHost(roomId);
    if (!nodeId) throw new SfuError('not_found', 'the room has no media on any node');
    return nodeId;
  }

  async dump(): Promise<SfuDump> {
    const nodes = await this.#refreshNodes().catch((err: unknown) => {
      throw directoryError(err);
    });
    const dumps = await Promise.all(nodes.map((n) => this.#call(n.nodeId, (c) => c.dump())));
    const sum = (pick: (d: SfuDump) => number) => dumps.reduce((n, d) => n + pick(d), 0);
    const egressStats = dumps.flatMap((d) => (d.egressStats ? [d.egressStats] : []));
    return {
      rooms: dumps.flatMap((d) => d.rooms),
      transports: sum((d) => d.transports),
      dropped: {
        malformed: sum((d) => d.dropped.malformed),
        unknownAddress: sum((d) => d.dropped.unknownAddress),
        unknownUsername: sum((d) => d.dropped.unknownUsername),
      },
      egress: dumps.flatMap((d) => d.egress ?? []),
      // Nodes without egress report none: the cluster has stats only when a node has egress.
      ...(egressStats.length > 0 ? { egressStats: sumEgressStats(egressStats) } : {}),
    };
  }

  /** Rooms this instance routes and the node of each (for the admin view and tests). */
  placements(): Map<RoomId, NodeId> {
    return new Map(this.#roomNodes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopMonitor();
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    for (const { client } of this.#clients.values()) client.close?.();
    this.#clients.clear();
  }

  #link(roomId: RoomId): RoomLink {
    let link = this.#links.get(roomId);
    if (!link) {
      link = new RoomLink(roomId, {
        resolveNode: () => this.#host(roomId),
        client: (nodeId) => this.#client(nodeId),
        onEvent: (event) => this.#onNodeEvent(roomId, event),
        onStreamFailed: (nodeId, err) => this.#suspect(nodeId, err),
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
    this.#roomNodes.delete(roomId);
  }

  /** The node for a joining participant: the room's live host, else the least-loaded node. */
  async #place(roomId: RoomId): Promise<NodeId> {
    const usable = await this.#refreshNodes();
    const current = await this.#directory.roomNode(roomId);
    // A draining node keeps serving the rooms it has; it only takes no new ones.
    if (current && usable.some((n) => n.nodeId === current)) {
      this.#roomNodes.set(roomId, current);
      return current;
    }
    const chosen = selectNode(usable, { groupId: this.#groupId, pending: this.#nodes.pending });
    if (!chosen) throw new SfuError('unavailable', 'no SFU node is available to host the room');
    if (current) await this.#directory.releaseRoom(roomId, current);
    const owner = await this.#directory.claimRoom(roomId, chosen.nodeId);
    if (owner !== chosen.nodeId && !this.#nodes.has(owner)) await this.#refreshNodes();
    this.#roomNodes.set(roomId, owner);
    if (owner !== chosen.nodeId) this.#log.debug({ roomId, owner }, 'room placed by another instance');
    else this.#log.info({ roomId, nodeId: owner }, 'room placed');
    return owner;
  }

  /** The node hosting the room, from the cache or the directory; undefined when none. */
  async #host(roomId: RoomId): Promise<NodeId | undefined> {
    const cached = this.#roomNodes.get(roomId);
    if (cached) return cached;
    try {
      const nodeId = await this.#directory.roomNode(roomId);
      if (!nodeId || this.#nodes.isLost(nodeId)) return undefined;
      if (!this.#nodes.has(nodeId)) await this.#refreshNodes();
      if (!this.#nodes.has(nodeId)) return undefined;
      this.#roomNodes.set(roomId, nodeId);
      return nodeId;
    } catch (err) {
      throw directoryError(err);
    }
  }

  /**
   * The room's host read from the directory, not the cache: a subscription is created on the node
   * that hosts the publisher now. Another instance may have moved the room (its node was lost to
   * that instance) while this one still had the old node cached; the subscriber would then be sent
   * to a node where the publisher no longer is. Falls back to the cache when the directory fails.
   */
  async #freshHost(roomId: RoomId): Promise<NodeId | undefined> {
    const cached = this.#roomNodes.get(roomId);
    if (!cached) return this.#host(roomId);
    let mapped: NodeId | undefined;
    try {
      mapped = await this.#directory.roomNode(roomId);
    } catch (err) {
      this.#log.debug({ err, roomId }, 'directory unreachable: using the cached placement');
      return cached;
    }
    if (!mapped || mapped === cached || this.#nodes.isLost(mapped)) return cached;
    if (!this.#nodes.has(mapped)) await this.#refreshNodes().catch(() => undefined);
    if (!this.#nodes.has(mapped)) return cached;
    this.#log.info({ roomId, from: cached, to: mapped }, 'room moved to another node');
    this.#roomNodes.set(roomId, mapped);
    this.#links.get(roomId)?.restart();
    return mapped;
  }

  async #call<T>(nodeId: NodeId, op: (client: NodeClient) => Promise<T>): Promise<T> {
    try {
      return await op(this.#client(nodeId));
    } catch (err) {
      // An unreachable node may have died: find out now rather than at its registration's expiry.
      if (err instanceof SfuError && err.code === 'unavailable') void this.#suspect(nodeId, err);
      throw err;
    }
  }

  #client(nodeId: NodeId): NodeClient {
    const info = this.#nodes.get(nodeId);
    if (!info) throw new SfuError('unavailable', `SFU node ${nodeId} is not registered`);
    const cached = this.#clients.get(nodeId);
    if (cached && cached.address === info.address) return cached.client;
    cached?.client.close?.();
    const client = this.#connect(info);
    this.#clients.set(nodeId, { address: info.address, client });
    return client;
  }

  #onNodeEvent(roomId: RoomId, event: SfuEvent): void {
    if (event.type !== 'participantLost') return;
    const known = this.#participants.get(roomId);
    known?.delete(event.participantId);
    if (known?.size === 0) this.#participants.delete(roomId);
  }

  /** The node's event stream broke or a call found it unreachable: lost unless it answers. */
  #suspect(nodeId: NodeId, reason: unknown): Promise<void> {
    const running = this.#probes.get(nodeId);
    if (running) return running;
    const probe = (async () => {
      const client = this.#clients.get(nodeId)?.client;
      const alive = client ? await this.#answers(client) : false;
      if (!alive) this.#nodeLost(nodeId, reason);
    })().finally(() => this.#probes.delete(nodeId));
    this.#probes.set(nodeId, probe);
    return probe;
  }

  async #answers(client: NodeClient): Promise<boolean> {
    let cancel: () => void = () => undefined;
    const timeout = new Promise<boolean>((resolve) => {
      cancel = this.#clock.setTimeout(() => resolve(false), this.#probeTimeoutMs);
    });
    const answer = client.dump().then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      cancel();
    }
  }

  #nodeLost(nodeId: NodeId, reason: unknown): void {
    if (this.#closed) return;
    this.#nodes.markLost(nodeId);
    this.#clients.get(nodeId)?.client.close?.();
    this.#clients.delete(nodeId);
    const rooms = [...this.#roomNodes].filter(([, n]) => n === nodeId).map(([roomId]) => roomId);
    this.#log.warn(
      { nodeId, rooms, reason: reason instanceof Error ? reason.message : String(reason) },
      'SFU node lost',
    );
    for (const roomId of rooms) {
      this.#roomNodes.delete(roomId);
      this.#directory
        .releaseRoom(roomId, nodeId)
        // The mapping also expires without its node's heartbeat; a failure here only delays that.
        .catch((err: unknown) => this.#log.warn({ err, roomId }, 'releasing a lost room failed'));
      const lost = this.#participants.get(roomId) ?? new Set();
      this.#participants.delete(roomId);
      const link = this.#links.get(roomId);
      for (const participantId of lost)
        link?.deliver({ type: 'participantLost', participantId, reason: 'node_lost' });
      link?.restart();
      this.#closeLinkIfUnused(roomId);
    }
  }

  async #refreshNodes(): Promise<NodeInfo[]> {
    return this.#nodes.update(await this.#directory.liveNodes(), new Set(this.#roomNodes.values()));
  }

  /**
   * Hosts missing from the registry: lost when they do not answer, or when they stayed missing
   * past the grace (a node that cannot reach Redis cannot keep its rooms' mappings either).
   */
  async #checkUnregistered(): Promise<void> {
    const now = this.#clock.nowMs();
    await Promise.all(
      this.#nodes.unregistered().map(async ([nodeId, since]) => {
        if (now - since >= this.#unregisteredGraceMs)
          return this.#nodeLost(nodeId, new Error('registration expired'));
        await this.#suspect(nodeId, new Error('registration expired and the node does not answer'));
      }),
    );
  }

  /** One round of the monitor: rooms whose node's registration expired are lost. */
  async #monitor(): Promise<void> {
    if (this.#monitoring || this.#closed) return;
    if (this.#roomNodes.size === 0 && this.#links.size === 0) return;
    this.#monitoring = true;
    try {
      await this.#refreshNodes();
      const gone = new Set([...this.#roomNodes.values()].filter((n) => !this.#nodes.has(n)));
      for (const nodeId of gone) this.#nodeLost(nodeId, new Error('registration expired'));
      // One round trip for every room we route: where is each mapped now?
      const rooms = new Set([...this.#links.keys(), ...this.#roomNodes.keys()]);
      const mappings = await this.#directory.roomNodes([...rooms]);
      // Why: a registry that still maps rooms to a missing host is intact, so the host's own entry
      // expired (its room mappings outlive it by ROOM_TTL_MS): it is lost now, as it always was.
      // A registry that lost both (Redis restarted empty) says nothing: the host is probed first.
      const stillMapped = new Set(mappings.values());
      for (const [nodeId] of this.#nodes.unregistered())
        if (stillMapped.has(nodeId)) this.#nodeLost(nodeId, new Error('registration expired'));
      await this.#checkUnregistered();
      for (const [roomId, link] of this.#links) {
        const mapped = mappings.get(roomId);
        if (mapped && link.nodeId && mapped !== link.nodeId && this.#nodes.has(mapped)) {
          this.#roomNodes.set(roomId, mapped);
          link.restart();
        }
      }
    } catch (err) {
      this.#log.warn({ err }, 'node directory unreachable');
    } finally {
      this.#monitoring = false;
    }
  }
}

/** The directory (Redis) failed: the caller sees `unavailable`, the cause is kept. */
function directoryError(err: unknown): unknown {
  if (err instanceof SfuError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new SfuError('unavailable', `the SFU node directory is unreachable (${reason})`, { cause: err });
}
