import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/**
 * Raw HTTP probes for the security tests: engine.io handshakes over long-polling and WebSocket
 * upgrades with any headers (Origin, X-Forwarded-For), and byte-level requests that never finish.
 */

export interface ProbeReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A socket.io (engine.io v4) handshake over HTTP long-polling. */
export function pollingHandshake(baseUrl: string, headers: Record<string, string> = {}): Promise<ProbeReply> {
  return get(baseUrl, '/socket.io/?EIO=4&transport=polling', headers);
}

/** A plain GET with the given headers, on a fresh connection. */
export function get(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ProbeReply> {
  return rawRequest(baseUrl, 'GET', path, headers);
}

export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ProbeReply> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface Upgrade {
  /** 101 when the server accepted the WebSocket, else the refusal status. */
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The refusal's text (engine.io refuses every upgrade with 400 and the reason as body). */
  body: string;
  /** The upgraded connection (status 101); the caller closes it. */
  socket?: net.Socket;
}

/** A WebSocket upgrade to engine.io that never speaks socket.io (no CONNECT packet). */
export function websocketUpgrade(baseUrl: string, headers: Record<string, string> = {}): Promise<Upgrade> {
  const url = new URL('/socket.io/?EIO=4&transport=websocket', baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', socket });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves when `socket` closes, or rejects after `timeoutMs`. */
export function closed(socket: net.Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Resolves when the server closes the upgraded WebSocket `socket`: a close frame (RFC 6455 §5.5.1)
 * or the TCP connection closing; rejects after `timeoutMs`.
 */
export function serverClosedWebSocket(socket: net.Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () => done();
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // Server frames are unmasked; engine.io's are short (7-bit or 16-bit lengths).
      while (buffered.length >= 2) {
        const opcode = buffered[0]! & 0x0f;
        const short = buffered[1]! & 0x7f;
        const header = short === 126 ? 4 : 2;
        const length = short === 126 ? buffered.readUInt16BE(2) : short;
        if (buffered.length < header + length) return;
        if (opcode === 0x8) return done();
        buffered = buffered.subarray(header + length);
      }
    };
    const timer = setTimeout(() => done(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * Opens a TCP connection to the server and writes `bytes` (an HTTP request that never finishes);
 * resolves with what the server answered before it closed the connection.
 */
export async function unfinishedRequest(
  baseUrl: string,
  bytes: string,
  timeoutMs: number,
): Promise<{ answer: string }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    answer += chunk;
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  try {
    await closed(socket, timeoutMs);
  } finally {
    socket.destroy();
  }
  return { answer };
}
