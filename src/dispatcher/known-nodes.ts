import type { Clock } from '../lib/clock.ts';
import type { NodeId } from '../lib/ids.ts';
import type { NodeInfo } from './node-directory.ts';

/**
 * A dispatcher's view of the SFU nodes, refreshed from the directory: the live ones, those it
 * declared lost (excluded until they report again), hosts that went missing from the registry
 * (kept until probed), and joins sent to a node since its last report (counted as load).
 */
export class KnownNodes {
  readonly #clock: Clock;
  readonly #nodes = new Map<NodeId, NodeInfo>();
  /** Nodes declared lost, with their last report: excluded until they report again. */
  readonly #lost = new Map<NodeId, number>();
  /** Hosts of our rooms missing from the registry: since when. */
  readonly #unregisteredSince = new Map<NodeId, number>();
  /** Joins routed to a node since its last report, counted as load by the selector. */
  readonly pending = new Map<NodeId, number>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get(nodeId: NodeId): NodeInfo | undefined {
    return this.#nodes.get(nodeId);
  }

  has(nodeId: NodeId): boolean {
    return this.#nodes.has(nodeId);
  }

  isLost(nodeId: NodeId): boolean {
    return this.#lost.has(nodeId);
  }

  addPending(nodeId: NodeId): void {
    this.pending.set(nodeId, (this.pending.get(nodeId) ?? 0) + 1);
  }

  /** Hosts missing from the registry, with the time they went missing. */
  unregistered(): Array<[NodeId, number]> {
    return [...this.#unregisteredSince];
  }

  markLost(nodeId: NodeId): void {
    this.#lost.set(nodeId, this.#nodes.get(nodeId)?.updatedAtMs ?? this.#clock.nowMs());
    this.#nodes.delete(nodeId);
    this.#unregisteredSince.delete(nodeId);
    this.pending.delete(nodeId);
  }

  /**
   * Takes the directory's live nodes; returns those not lost. `hosts` are the nodes hosting rooms
   * the dispatcher routes.
   */
  update(nodes: NodeInfo[], hosts: ReadonlySet<NodeId>): NodeInfo[] {
    const seen = new Set<NodeId>();
    for (const node of nodes) {
      seen.add(node.nodeId);
      const previous = this.#nodes.get(node.nodeId);
      if (previous && previous.updatedAtMs !== node.updatedAtMs) this.pending.delete(node.nodeId);
      const lostAt = this.#lost.get(node.nodeId);
      // A lost node that reports again (restarted) is usable again.
      if (lostAt !== undefined && node.updatedAtMs > lostAt) this.#lost.delete(node.nodeId);
      if (!this.#lost.has(node.nodeId)) this.#nodes.set(node.nodeId, node);
    }
    for (const nodeId of this.#nodes.keys()) {
      if (seen.has(nodeId)) this.#unregisteredSince.delete(nodeId);
      // Why: a host missing from the registry is kept until it is probed; Redis restarted without
      // its keys looks the same as a dead node until the node heartbeats again.
      else if (hosts.has(nodeId)) {
        if (!this.#unregisteredSince.has(nodeId)) this.#unregisteredSince.set(nodeId, this.#clock.nowMs());
      } else this.#nodes.delete(nodeId);
    }
    return nodes.filter((n) => !this.#lost.has(n.nodeId));
  }
}
