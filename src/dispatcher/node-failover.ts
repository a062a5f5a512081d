import type { Clock } from '../lib/clock.ts';
import type { NodeId } from '../lib/ids.ts';
import type { NodeClient, NodeClients } from './node-clients.ts';

export interface NodeFailoverOptions {
  clients: NodeClients;
  clock: Clock;
  /** How long a suspected node has to answer before it is lost. */
  probeTimeoutMs: number;
  /** The node did not answer: the dispatcher moves its rooms off it. */
  onLost: (nodeId: NodeId, reason: unknown) => void;
}

/**
 * Decides whether a suspected node (its event stream broke, a call found it unreachable, its
 * registration vanished) is lost: it is asked for its dump, and lost unless it answers in time.
 * One probe per node at a time; concurrent suspicions share it.
 */
export class NodeFailover {
  readonly #options: NodeFailoverOptions;
  readonly #probes = new Map<NodeId, Promise<void>>();

  constructor(options: NodeFailoverOptions) {
    this.#options = options;
  }

  /** The node's event stream broke or a call found it unreachable: lost unless it answers. */
  suspect(nodeId: NodeId, reason: unknown): Promise<void> {
    const running = this.#probes.get(nodeId);
    if (running) return running;
    const probe = (async () => {
      const client = this.#options.clients.existing(nodeId);
      const alive = client ? await this.#answers(client) : false;
      if (!alive) this.#options.onLost(nodeId, reason);
    })().finally(() => this.#probes.delete(nodeId));
    this.#probes.set(nodeId, probe);
    return probe;
  }

  async #answers(client: NodeClient): Promise<boolean> {
    let cancel: () => void = () => undefined;
    const timeout = new Promise<boolean>((resolve) => {
      cancel = this.#options.clock.setTimeout(() => resolve(false), this.#options.probeTimeoutMs);
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
}
