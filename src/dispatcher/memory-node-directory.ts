import { type Clock, systemClock } from '../lib/clock.ts';
import type { NodeId, RoomId } from '../lib/ids.ts';
import { type NodeDirectory, type NodeInfo, ROOM_TTL_MS } from './node-directory.ts';

/**
 * NodeDirectory in one process's memory, with the same TTL rules as the Redis one: for tests and
 * for a dispatcher whose nodes all live in the same process.
 */
export class MemoryNodeDirectory implements NodeDirectory {
  readonly #clock: Clock;
  readonly #roomTtlMs: number;
  readonly #nodes = new Map<NodeId, { info: NodeInfo; expiresAtMs: number }>();
  readonly #rooms = new Map<RoomId, { nodeId: NodeId; expiresAtMs: number }>();

  constructor(options: { clock?: Clock; roomTtlMs?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#roomTtlMs = options.roomTtlMs ?? ROOM_TTL_MS;
  }

  async heartbeat(node: NodeInfo, options: { ttlMs: number; rooms: RoomId[] }): Promise<void> {
    const now = this.#clock.nowMs();
    this.#nodes.set(node.nodeId, { info: structuredClone(node), expiresAtMs: now + options.ttlMs });
    for (const roomId of options.rooms) {
      const current = this.#liveRoom(roomId);
      if (!current || current === node.nodeId)
        this.#rooms.set(roomId, { nodeId: node.nodeId, expiresAtMs: now + this.#roomTtlMs });
    }
  }

  async unregister(nodeId: NodeId): Promise<void> {
    this.#nodes.delete(nodeId);
  }

  async liveNodes(groupId?: string): Promise<NodeInfo[]> {
    const now = this.#clock.nowMs();
    const live: NodeInfo[] = [];
    for (const [nodeId, entry] of this.#nodes) {
      if (entry.expiresAtMs <= now) this.#nodes.delete(nodeId);
      else if (groupId === undefined || entry.info.groupId === groupId)
        live.push(structuredClone(entry.info));
    }
    return live;
  }

  async roomNode(roomId: RoomId): Promise<NodeId | undefined> {
    return this.#liveRoom(roomId);
  }

  async roomNodes(roomIds: RoomId[]): Promise<Map<RoomId, NodeId>> {
    const found = new Map<RoomId, NodeId>();
    for (const roomId of roomIds) {
      const nodeId = this.#liveRoom(roomId);
      if (nodeId) found.set(roomId, nodeId);
    }
    return found;
  }

  async claimRoom(roomId: RoomId, nodeId: NodeId): Promise<NodeId> {
    const current = this.#liveRoom(roomId);
    if (current && this.#isLive(current)) return current;
    this.#rooms.set(roomId, { nodeId, expiresAtMs: this.#clock.nowMs() + this.#roomTtlMs });
    return nodeId;
  }

  async releaseRoom(roomId: RoomId, nodeId: NodeId): Promise<void> {
    if (this.#rooms.get(roomId)?.nodeId === nodeId) this.#rooms.delete(roomId);
  }

  async close(): Promise<void> {
    this.#nodes.clear();
    this.#rooms.clear();
  }

  #liveRoom(roomId: RoomId): NodeId | undefined {
    const entry = this.#rooms.get(roomId);
    if (!entry) return undefined;
    if (entry.expiresAtMs > this.#clock.nowMs()) return entry.nodeId;
    this.#rooms.delete(roomId);
    return undefined;
  }

  #isLive(nodeId: NodeId): boolean {
    const entry = this.#nodes.get(nodeId);
    return entry !== undefined && entry.expiresAtMs > this.#clock.nowMs();
  }
}
