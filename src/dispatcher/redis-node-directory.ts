import type { Redis } from 'ioredis';
import { z } from 'zod';
import { NodeId, type RoomId } from '../lib/ids.ts';
import { type NodeDirectory, type NodeInfo, ROOM_TTL_MS } from './node-directory.ts';

/*
 * Keys (prefix `bbmeet` by default):
 *   <prefix>:node:<nodeId>   the node's NodeInfo as JSON, expiring ttlMs after its last heartbeat
 *   <prefix>:nodes           set of registered node ids (entries whose key expired are pruned)
 *   <prefix>:room:<roomId>   id of the node hosting the room, refreshed by that node's heartbeat
 */

/** Maps the room to ARGV[1] unless it is mapped to a node whose key still exists. */
const CLAIM_ROOM = `
local current = redis.call('GET', KEYS[1])
if current and redis.call('EXISTS', ARGV[3] .. current) == 1 then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

/** Refreshes (or restores) each room's mapping to ARGV[1], leaving rooms other nodes hold alone. */
const REFRESH_ROOMS = `
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if not current then redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  elseif current == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) end
end
return 0`;

const RELEASE_ROOM = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const nodeInfoSchema = z.object({
  nodeId: z.string().min(1),
  address: z.string().min(1),
  groupId: z.string().min(1),
  load: z.object({
    cpu: z.number().nonnegative(),
    packetsPerSecond: z.number().nonnegative(),
    participants: z.number().int().nonnegative(),
    rooms: z.number().int().nonnegative(),
    freePorts: z.number().int().nonnegative(),
    draining: z.boolean(),
  }),
  updatedAtMs: z.number(),
});

/**
 * NodeDirectory in Redis, shared by every signalling instance and SFU node of a cluster. The
 * client is the caller's (it owns reconnection and quits it); after a Redis restart the nodes'
 * next heartbeats write their entries and room mappings again.
 */
export class RedisNodeDirectory implements NodeDirectory {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #roomTtlMs: number;

  constructor(options: { redis: Redis; prefix?: string; roomTtlMs?: number }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'bbmeet';
    this.#roomTtlMs = options.roomTtlMs ?? ROOM_TTL_MS;
  }

  async heartbeat(node: NodeInfo, options: { ttlMs: number; rooms: RoomId[] }): Promise<void> {
    await this.#redis
      .multi()
      .set(this.#nodeKey(node.nodeId), JSON.stringify(node), 'PX', options.ttlMs)
      .sadd(this.#nodesKey(), node.nodeId)
      .exec();
    if (options.rooms.length === 0) return;
    const keys = options.rooms.map((r) => this.#roomKey(r));
    await this.#redis.eval(REFRESH_ROOMS, keys.length, ...keys, node.nodeId, this.#roomTtlMs);
  }

  async unregister(nodeId: NodeId): Promise<void> {
    await this.#redis.multi().del(this.#nodeKey(nodeId)).srem(this.#nodesKey(), nodeId).exec();
  }

  async liveNodes(groupId?: string): Promise<NodeInfo[]> {
    const ids = await this.#redis.smembers(this.#nodesKey());
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => this.#nodeKey(NodeId(id))));
    const live: NodeInfo[] = [];
    const dead: string[] = [];
    ids.forEach((id, i) => {
      const info = parseNodeInfo(values[i] ?? null);
      if (!info) dead.push(id);
      else if (groupId === undefined || info.groupId === groupId) live.push(info);
    });
    // Expired nodes leave the set here (the original registry never forgot a dead node).
    if (dead.length > 0) await this.#redis.srem(this.#nodesKey(), ...dead);
    return live;
  }

  async roomNode(roomId: RoomId): Promise<NodeId | undefined> {
    const value = await this.#redis.get(this.#roomKey(roomId));
    return value ? NodeId(value) : undefined;
  }

  async roomNodes(roomIds: RoomId[]): Promise<Map<RoomId, NodeId>> {
    const found = new Map<RoomId, NodeId>();
    if (roomIds.length === 0) return found;
    const values = await this.#redis.mget(roomIds.map((r) => this.#roomKey(r)));
    roomIds.forEach((roomId, i) => {
      const value = values[i];
      if (value) found.set(roomId, NodeId(value));
    });
    return found;
  }

  async claimRoom(roomId: RoomId, nodeId: NodeId): Promise<NodeId> {
    const owner = await this.#redis.eval(
      CLAIM_ROOM,
      1,
      this.#roomKey(roomId),
      nodeId,
      this.#roomTtlMs,
      `${this.#prefix}:node:`,
    );
    return NodeId(String(owner));
  }

  async releaseRoom(roomId: RoomId, nodeId: NodeId): Promise<void> {
    await this.#redis.eval(RELEASE_ROOM, 1, this.#roomKey(roomId), nodeId);
  }

  async close(): Promise<void> {
    // The Redis client belongs to the caller.
  }

  #nodeKey(nodeId: NodeId): string {
    return `${this.#prefix}:node:${nodeId}`;
  }

  #nodesKey(): string {
    return `${this.#prefix}:nodes`;
  }

  #roomKey(roomId: RoomId): string {
    return `${this.#prefix}:room:${roomId}`;
  }
}

/** A node entry read back from Redis; undefined when missing or malformed. */
function parseNodeInfo(raw: string | null): NodeInfo | undefined {
  if (raw === null) return undefined;
  try {
    const parsed = nodeInfoSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    return { ...parsed.data, nodeId: NodeId(parsed.data.nodeId) };
  } catch {
    return undefined;
  }
}
