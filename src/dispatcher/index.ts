// The cluster's routing: an SfuApi that forwards each call to the SFU node hosting the room, and the
// node directory behind it. May import protocol/, lib/ and ioredis; node clients are injected.
export { Dispatcher, type DispatcherOptions, type NodeClient } from './dispatcher.ts';
export { MemoryNodeDirectory } from './memory-node-directory.ts';
export type { NodeDirectory, NodeInfo, NodeLoad } from './node-directory.ts';
export { ROOM_TTL_MS } from './node-directory.ts';
export { selectNode } from './node-selector.ts';
export { RedisNodeDirectory } from './redis-node-directory.ts';
