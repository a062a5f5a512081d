import { SfuError } from '../lib/errors.ts';
import type { NodeId } from '../lib/ids.ts';
import type { SfuApi } from '../protocol/sfu-api.ts';
import type { KnownNodes } from './known-nodes.ts';
import type { NodeInfo } from './node-directory.ts';

/** An SfuApi reaching one node (an SfuGrpcClient in a cluster); `close` ends its connection. */
export type NodeClient = SfuApi & { close?(): void };

/**
 * The client of each known node, created on first use and again when the node's address changes.
 * Lifecycle: constructed → get… → close() (closes every client).
 */
export class NodeClients {
  readonly #nodes: KnownNodes;
  readonly #connect: (node: NodeInfo) => NodeClient;
  readonly #clients = new Map<NodeId, { address: string; client: NodeClient }>();

  constructor(nodes: KnownNodes, connect: (node: NodeInfo) => NodeClient) {
    this.#nodes = nodes;
    this.#connect = connect;
  }

  /** The node's client; throws SfuError('unavailable') for a node that is not registered. */
  get(nodeId: NodeId): NodeClient {
    const info = this.#nodes.get(nodeId);
    if (!info) throw new SfuError('unavailable', `SFU node ${nodeId} is not registered`);
    const cached = this.#clients.get(nodeId);
    if (cached && cached.address === info.address) return cached.client;
    cached?.client.close?.();
    const client = this.#connect(info);
    this.#clients.set(nodeId, { address: info.address, client });
    return client;
  }

  /** The client already made for the node, if any (a probe does not connect anew). */
  existing(nodeId: NodeId): NodeClient | undefined {
    return this.#clients.get(nodeId)?.client;
  }

  /** Closes and forgets the node's client (the node was lost). */
  drop(nodeId: NodeId): void {
    this.#clients.get(nodeId)?.client.close?.();
    this.#clients.delete(nodeId);
  }

  close(): void {
    for (const { client } of this.#clients.values()) client.close?.();
    this.#clients.clear();
  }
}
