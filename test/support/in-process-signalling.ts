import { createServer, type Server } from 'node:http';
import { silentLogger } from '../../src/lib/logger.ts';
import { Metrics } from '../../src/lib/metrics.ts';
import type { SfuApi } from '../../src/protocol/sfu-api.ts';
import { createSignalling, type Signalling } from '../../src/signalling/index.ts';
import type { Store } from '../../src/store/index.ts';

/** Signalling alone on a loopback HTTP port, with the test's store and SfuApi. */
export interface InProcessSignalling {
  signalling: Signalling;
  http: Server;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * Starts signalling in process with the limits of a test (generous rates, no proxy), a silent
 * logger and its own metrics. Several may share one store, as the instances of a cluster do.
 */
export async function startInProcessSignalling(o: {
  store: Store;
  sfu: SfuApi;
  jwtSecret: string;
  identitySecret?: string;
  nodeId: string;
}): Promise<InProcessSignalling> {
  const http = createServer();
  const signalling = createSignalling({
    httpServer: http,
    store: o.store,
    sfu: o.sfu,
    jwtSecret: o.jwtSecret,
    identitySecret: o.identitySecret,
    nodeId: o.nodeId,
    corsOrigins: '*',
    maxMessageBytes: 100_000,
    eventsPerSecond: 50,
    eventsBurst: 100,
    connectionsPerIp: 50,
    connectionsPerUser: 20,
    unauthenticatedPerIp: 50,
    connectTimeoutMs: 10_000,
    trustProxy: false,
    reconnectGraceMs: 30_000,
    metrics: new Metrics({ defaultMetrics: false }),
    logger: silentLogger(),
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const close = async () => {
    await signalling.close();
    http.close();
  };
  return { signalling, http, baseUrl, close };
}
