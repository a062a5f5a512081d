import type { NodeId } from '../lib/ids.ts';
import type { NodeInfo } from './node-directory.ts';

/**
 * Picks the node for a new room: the least loaded live node of the group that is not draining.
 * Load is ranked by participants (counting rooms placed since the node's last report, given in
 * `pending`), then CPU, then packets per second; ties go to the node id so every signalling
 * instance makes the same choice. Undefined when no node can take the room.
 *
 * (The original dispatcher sorted the other way round and sent new rooms to the busiest node.)
 */
export function selectNode(
  nodes: readonly NodeInfo[],
  options: { groupId: string; pending?: ReadonlyMap<NodeId, number> },
): NodeInfo | undefined {
  let best: NodeInfo | undefined;
  for (const node of nodes) {
    if (node.groupId !== options.groupId || node.load.draining) continue;
    if (!best || compareLoad(node, best, options.pending) < 0) best = node;
  }
  return best;
}

function compareLoad(a: NodeInfo, b: NodeInfo, pending: ReadonlyMap<NodeId, number> | undefined): number {
  const participants = (n: NodeInfo) => n.load.participants + (pending?.get(n.nodeId) ?? 0);
  return (
    participants(a) - participants(b) ||
    a.load.cpu - b.load.cpu ||
    a.load.packetsPerSecond - b.load.packetsPerSecond ||
    (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0)
  );
}
