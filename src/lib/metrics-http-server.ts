import type { Registry } from 'prom-client';
import { http } from './node-http.ts';

/**
 * A bare HTTP server answering `GET /metrics` from `registry` (Prometheus text) and 404 to
 * anything else: the metrics of a process that has no REST server (a `bbmeet sfu` node).
 */
export async function startMetricsHttpServer(options: {
  registry: Registry;
  host: string;
  port: number;
}): Promise<{ port: number; close(): Promise<void> }> {
  const { registry } = options;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      // A collector that throws fails this scrape only; Prometheus marks the target down.
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
