// HTTP load generator of the signalling scenario (a child process on the load cores): a fixed
// number of keep-alive connections, each a closed loop (send, read the reply, send again) over
// its share of the targets, until told to stop. Counts replies with the expected status as done,
// others as errors, and records each request's latency.
import type http from 'node:http';
import { type HttpTarget, httpRequest, keepAliveAgent } from './http-client.ts';
import { LatencyLog, serveLoad } from './load-child.ts';

export interface HttpLoadConfig {
  baseUrl: string;
  /** Connections (and requests in flight). */
  connections: number;
  /** Connection i sends targets i, i + connections, … in turn. */
  targets: HttpTarget[];
}

let config: HttpLoadConfig | undefined;
let agent: http.Agent | undefined;
let running = false;
const loops: Array<Promise<void>> = [];
const latencies = new LatencyLog();
let done = 0;
let errors = 0;
let firstError: string | undefined;

async function loop(index: number): Promise<void> {
  const { targets, connections, baseUrl } = config!;
  let next = index % targets.length;
  while (running) {
    const target = targets[next]!;
    next = (next + connections) % targets.length;
    const started = performance.now();
    try {
      const reply = await httpRequest(agent!, baseUrl, target);
      if (reply.status === target.expect) {
        done++;
        latencies.add('request', performance.now() - started);
      } else {
        errors++;
        firstError ??= `${target.method} ${target.path}: ${reply.status} ${reply.text.slice(0, 200)}`;
      }
    } catch (err) {
      errors++;
      firstError ??= `${target.method} ${target.path}: ${(err as Error).message}`;
    }
  }
}

serveLoad({
  async setup(c) {
    config = c as HttpLoadConfig;
    if (config.targets.length === 0) throw new Error('no targets');
    agent = keepAliveAgent(config.connections);
  },
  go() {
    if (running || !config) return;
    running = true;
    for (let i = 0; i < config.connections; i++) loops.push(loop(i));
  },
  stats: () => ({ counters: { done, errors }, latenciesMs: latencies.take(), firstError }),
  async stop() {
    running = false;
    await Promise.all(loops);
    agent?.destroy();
  },
});
