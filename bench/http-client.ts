// One HTTP request over a keep-alive agent, body read to the end: what the signalling scenario's
// load processes send to the REST API (node:http, so a fixed pool of connections is reused).
import http from 'node:http';

export interface HttpTarget {
  method: 'GET' | 'POST';
  /** Path and query, e.g. /busapi/v3/auth. */
  path: string;
  headers: Record<string, string>;
  /** JSON text for a POST. */
  body?: string;
  /** The status that counts as success. */
  expect: number;
}

export interface HttpReply {
  status: number;
  text: string;
}

/** A keep-alive agent holding at most `connections` sockets to the server. */
export function keepAliveAgent(connections: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
}

export function httpRequest(
  agent: http.Agent,
  baseUrl: string,
  target: Pick<HttpTarget, 'method' | 'path' | 'headers' | 'body'>,
  timeoutMs = 20_000,
): Promise<HttpReply> {
  const url = new URL(target.path, baseUrl);
  return new Promise<HttpReply>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...target.headers };
    if (target.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(target.body);
    }
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: target.method,
        path: url.pathname + url.search,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${target.method} ${target.path}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(target.body);
  });
}
