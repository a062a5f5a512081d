import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from '../lib/node-http.ts';

/**
 * What the server mounts under `/egress/`: the shape of sfu/egress-backend.ts's EgressHttp, named
 * here because api/ does not import the SFU.
 */
export interface EgressRequestHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

export const EGRESS_PATH_PREFIX = '/egress/';

export function isEgressPath(url: string | undefined): boolean {
  return url?.startsWith(EGRESS_PATH_PREFIX) === true;
}

type Listener = (...args: unknown[]) => void;

/**
 * Puts `egress` in front of the server's own handlers for requests and upgrades under `/egress/`.
 * Egress answers those itself, with its own CORS (players on other origins) and content types,
 * outside the API's origin policy, security headers and rate limit; socket.io never sees its
 * WebSocket upgrades. Call it once every other handler is attached (Fastify, socket.io).
 */
export function mountEgressHttp(server: Server, egress: EgressRequestHandler): void {
  divert(server, 'request', (req, [res]) => egress.handle(req, res as ServerResponse));
  divert(server, 'upgrade', (req, [socket, head]) => {
    if (!egress.upgrade(req, socket as Duplex, head as Buffer)) refuseUpgrade(socket as Duplex);
  });
}

function divert(
  server: Server,
  event: 'request' | 'upgrade',
  egress: (req: IncomingMessage, rest: unknown[]) => void,
): void {
  const others = server.listeners(event) as Listener[];
  server.removeAllListeners(event);
  server.on(event, (req: IncomingMessage, ...rest: unknown[]) => {
    if (isEgressPath(req.url)) return egress(req, rest);
    for (const listener of others) listener.call(server, req, ...rest);
  });
}

function refuseUpgrade(socket: Duplex): void {
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

export interface EgressHttpServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  timeouts: { requestMs: number; headersMs: number; keepAliveMs: number };
}

/**
 * A cluster SFU node's own HTTP server for egress (EGRESS_HTTP_PORT): `/egress/` and its
 * WebSocket upgrades go to `egress`, anything else is 404.
 */
export async function startEgressHttpServer(
  egress: EgressRequestHandler,
  options: EgressHttpServerOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(
    {
      requestTimeout: options.timeouts.requestMs,
      headersTimeout: options.timeouts.headersMs,
      keepAliveTimeout: options.timeouts.keepAliveMs,
    },
    (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not Found');
    },
  );
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => refuseUpgrade(socket));
  mountEgressHttp(server, egress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closed: Promise<void> | undefined;
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Blocking playlist reloads and MoQ sessions hold connections open: end them.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
