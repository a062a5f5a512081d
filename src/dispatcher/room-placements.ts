import { SfuError } from '../lib/errors.ts';
import type { NodeId, RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { KnownNodes } from './known-nodes.ts';
import type { NodeDirectory, NodeInfo } from './node-directory.ts';
import { selectNode } from './node-selector.ts';

export interface RoomPlacementsOptions {
  directory: NodeDirectory;
  nodes: KnownNodes;
  /** New rooms go to nodes of this group only. */
  groupId: string;
  logger: Logger;
  /** The directory says another node hosts the room now: its event stream and participants follow. */
  onMoved: (roomId: RoomId, to: NodeId) => void;
}

/**
 * Which node hosts each room this instance routes: a cache of the directory's mappings, filled by
 * placing a joining room (on its live host, else the least-loaded node of the group) or by reading
 * the directory, and emptied as rooms are forgotten or their node is lost.
 */
export class RoomPlacements {
  readonly #directory: NodeDirectory;
  readonly #nodes: KnownNodes;
  readonly #groupId: string;
  readonly #log: Logger;
  readonly #onMoved: (roomId: RoomId, to: NodeId) => void;
  readonly #roomNodes = new Map<RoomId, NodeId>();

  constructor(options: RoomPlacementsOptions) {
    this.#directory = options.directory;
    this.#nodes = options.nodes;
    this.#groupId = options.groupId;
    this.#log = options.logger;
    this.#onMoved = options.onMoved;
  }

  get size(): number {
    return this.#roomNodes.size;
  }

  rooms(): IterableIterator<RoomId> {
    return this.#roomNodes.keys();
  }

  /** The nodes hosting the rooms placed here. */
  hosts(): Set<NodeId> {
    return new Set(this.#roomNodes.values());
  }

  /** The rooms placed on the node. */
  roomsOn(nodeId: NodeId): RoomId[] {
    return [...this.#roomNodes].filter(([, n]) => n === nodeId).map(([roomId]) => roomId);
  }

  snapshot(): Map<RoomId, NodeId> {
    return new Map(this.#roomNodes);
  }

  set(roomId: RoomId, nodeId: NodeId): void {
    this.#roomNodes.set(roomId, nodeId);
  }

  /** Forgets the room here; the directory keeps its mapping. */
  forget(roomId: RoomId): void {
    this.#roomNodes.delete(roomId);
  }

  /** The node for a joining participant: the room's live host, else the least-loaded node. */
  async place(roomId: RoomId): Promise<NodeId> {
    const usable = await this.refreshNodes();
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
    if (owner !== chosen.nodeId && !this.#nodes.has(owner)) await this.refreshNodes();
    this.#roomNodes.set(roomId, owner);
    if (owner !== chosen.nodeId) this.#log.debug({ roomId, owner }, 'room placed by another instance');
    else this.#log.info({ roomId, nodeId: owner }, 'room placed');
    return owner;
  }

  /** The node hosting the room, from the cache or the directory; undefined when none. */
  async host(roomId: RoomId): Promise<NodeId | undefined> {
    const cached = this.#roomNodes.get(roomId);
    if (cached) return cached;
    try {
      const nodeId = await this.#directory.roomNode(roomId);
      if (!nodeId || this.#nodes.isLost(nodeId)) return undefined;
      if (!this.#nodes.has(nodeId)) await this.refreshNodes();
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
  async freshHost(roomId: RoomId): Promise<NodeId | undefined> {
    const cached = this.#roomNodes.get(roomId);
    if (!cached) return this.host(roomId);
    let mapped: NodeId | undefined;
    try {
      mapped = await this.#directory.roomNode(roomId);
    } catch (err) {
      this.#log.debug({ err, roomId }, 'directory unreachable: using the cached placement');
      return cached;
    }
    if (!mapped || mapped === cached || this.#nodes.isLost(mapped)) return cached;
    if (!this.#nodes.has(mapped)) await this.refreshNodes().catch(() => undefined);
    if (!this.#nodes.has(mapped)) return cached;
    this.#log.info({ roomId, from: cached, to: mapped }, 'room moved to another node');
    this.#roomNodes.set(roomId, mapped);
    this.#onMoved(roomId, mapped);
    return mapped;
  }

  /** The live nodes, read from the directory (the hosts of our rooms are watched if missing). */
  async refreshNodes(): Promise<NodeInfo[]> {
    return this.#nodes.update(await this.#directory.liveNodes(), this.hosts());
  }
}

/** The directory (Redis) failed: the caller sees `unavailable`, the cause is kept. */
export function directoryError(err: unknown): unknown {
  if (err instanceof SfuError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new SfuError('unavailable', `the SFU node directory is unreachable (${reason})`, { cause: err });
}
