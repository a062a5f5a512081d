import type { NodeId, RoomId } from '../lib/ids.ts';

/** What an SFU node reports about itself with every heartbeat. */
export interface NodeLoad {
  /** Share of one core used by the process (all its threads) since the last heartbeat, 0–n. */
  cpu: number;
  /** RTP/RTCP packets per second in and out, across the node's media workers. */
  packetsPerSecond: number;
  participants: number;
  rooms: number;
  /** UDP ports of the node's range not used by a media worker. */
  freePorts: number;
  /** The node is shutting down: it keeps its rooms but takes no new ones. */
  draining: boolean;
}

/** A live SFU node as registered in the directory. */
export interface NodeInfo {
  nodeId: NodeId;
  /** gRPC address `host:port` the signalling instances call. */
  address: string;
  /** Nodes serve signalling instances of the same group only. */
  groupId: string;
  load: NodeLoad;
  /** When the node last reported (ms since the epoch, the node's clock). */
  updatedAtMs: number;
}

/**
 * The cluster's registry: which SFU nodes are alive (each keeps its entry with a TTL heartbeat)
 * and which node hosts each room. Implementations: MemoryNodeDirectory (tests, one process),
 * RedisNodeDirectory (a cluster).
 */
export interface NodeDirectory {
  /**
   * Registers or refreshes a node; the entry disappears `ttlMs` after the last call. `rooms` are
   * the rooms the node hosts: their mapping is refreshed too (and restored if it was lost, e.g.
   * after a Redis restart) unless another node holds it.
   */
  heartbeat(node: NodeInfo, options: { ttlMs: number; rooms: RoomId[] }): Promise<void>;
  /** Removes the node at once (clean shutdown). */
  unregister(nodeId: NodeId): Promise<void>;
  /** Live nodes, optionally of one group only. */
  liveNodes(groupId?: string): Promise<NodeInfo[]>;
  /** The node the room is mapped to, if any (it may have died since: check liveNodes). */
  roomNode(roomId: RoomId): Promise<NodeId | undefined>;
  /** `roomNode` of several rooms at once; rooms without a mapping are absent. */
  roomNodes(roomIds: RoomId[]): Promise<Map<RoomId, NodeId>>;
  /**
   * Atomically maps the room to `nodeId` unless it is already mapped to a live node; returns the
   * node that hosts the room afterwards. Two callers placing the same new room agree.
   */
  claimRoom(roomId: RoomId, nodeId: NodeId): Promise<NodeId>;
  /** Removes the room's mapping if it still points at `nodeId`. */
  releaseRoom(roomId: RoomId, nodeId: NodeId): Promise<void>;
  close(): Promise<void>;
}

/** How long a room mapping lives without a refresh from its node's heartbeat. */
export const ROOM_TTL_MS = 15_000;
