import type { Clock } from '../lib/clock.ts';
import type { NodeId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { KnownNodes } from './known-nodes.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { NodeFailover } from './node-failover.ts';
import type { RoomLink } from './room-link.ts';
import type { RoomPlacements } from './room-placements.ts';

export interface RegistryWatchOptions {
  directory: NodeDirectory;
  nodes: KnownNodes;
  placements: RoomPlacements;
  /** The room event streams this instance follows. */
  links: ReadonlyMap<RoomId, RoomLink>;
  failover: NodeFailover;
  /** The node is lost: the dispatcher moves its rooms off it. */
  onLost: (nodeId: NodeId, reason: unknown) => void;
  /** The directory maps a room to another live node: the dispatcher follows it there. */
  onMoved: (roomId: RoomId, to: NodeId) => void;
  clock: Clock;
  logger: Logger;
  /** How often the placements in use are checked against the live nodes. */
  intervalMs: number;
  /** How long a host missing from the registry but still answering is kept. */
  unregisteredGraceMs: number;
}

/**
 * Checks, on a timer, the placements in use against the registry: hosts whose registration
 * expired are lost, hosts missing from a registry that forgot everything are probed (and lost past
 * a grace), and a room the directory maps to another live node has its event stream follow it.
 *
 * Lifecycle: constructed (the timer starts) → stop().
 */
export class RegistryWatch {
  readonly #o: RegistryWatchOptions;
  readonly #stopTimer: () => void;
  #running = false;
  #stopped = false;

  constructor(options: RegistryWatchOptions) {
    this.#o = options;
    this.#stopTimer = options.clock.setInterval(() => {
      // Errors are logged inside; a failed round is retried on the next tick.
      void this.#round();
    }, options.intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    this.#stopTimer();
  }

  /** One round: rooms whose node's registration expired are lost. */
  async #round(): Promise<void> {
    const { placements, links, nodes } = this.#o;
    if (this.#running || this.#stopped) return;
    if (placements.size === 0 && links.size === 0) return;
    this.#running = true;
    try {
      await placements.refreshNodes();
      const gone = new Set([...placements.hosts()].filter((n) => !nodes.has(n)));
      for (const nodeId of gone) this.#o.onLost(nodeId, new Error('registration expired'));
      // One round trip for every room we route: where is each mapped now?
      const rooms = new Set([...links.keys(), ...placements.rooms()]);
      const mappings = await this.#o.directory.roomNodes([...rooms]);
      await this.#loseExpiredHosts(mappings);
      await this.#checkUnregistered();
      this.#followMoves(mappings);
    } catch (err) {
      this.#o.logger.warn({ err }, 'node directory unreachable');
    } finally {
      this.#running = false;
    }
  }

  async #loseExpiredHosts(mappings: Map<RoomId, NodeId>): Promise<void> {
    // Why: a registry that still maps rooms to a missing host is intact, so the host's own entry
    // expired (its room mappings outlive it by ROOM_TTL_MS): it is lost now, as it always was.
    // A registry that lost both (Redis restarted empty) says nothing: the host is probed first.
    const stillMapped = new Set(mappings.values());
    const suspects = this.#o.nodes.unregistered().filter(([nodeId]) => stillMapped.has(nodeId));
    if (suspects.length === 0) return;
    // Why read the nodes again: a node's heartbeat writes its entry, then its rooms' mappings. After
    // Redis came back empty, that heartbeat can land between this round's read of the nodes and its
    // read of the mappings: the mapping is new, the entry was missed. Read after the mappings, a
    // live node's entry is there; an expired one's is not (seen: a live node declared lost 3 ms after
    // its heartbeat restored it, its room moved and one side of the call never saw the other again).
    await this.#o.placements.refreshNodes();
    const stillMissing = new Set(this.#o.nodes.unregistered().map(([nodeId]) => nodeId));
    for (const [nodeId] of suspects)
      if (stillMissing.has(nodeId)) this.#o.onLost(nodeId, new Error('registration expired'));
  }

  /**
   * Hosts missing from the registry: lost when they do not answer, or when they stayed missing
   * past the grace (a node that cannot reach Redis cannot keep its rooms' mappings either).
   */
  async #checkUnregistered(): Promise<void> {
    const now = this.#o.clock.nowMs();
    await Promise.all(
      this.#o.nodes.unregistered().map(async ([nodeId, since]) => {
        if (now - since >= this.#o.unregisteredGraceMs)
          return this.#o.onLost(nodeId, new Error('registration expired'));
        await this.#o.failover.suspect(
          nodeId,
          new Error('registration expired and the node does not answer'),
        );
      }),
    );
  }

  /** Rooms the directory maps to another live node than the one their stream follows. */
  #followMoves(mappings: Map<RoomId, NodeId>): void {
    for (const [roomId, link] of this.#o.links) {
      const mapped = mappings.get(roomId);
      if (mapped && link.nodeId && mapped !== link.nodeId && this.#o.nodes.has(mapped)) {
        this.#o.placements.set(roomId, mapped);
        this.#o.onMoved(roomId, mapped);
      }
    }
  }
}
