import type { IncomingMessage } from 'node:http';

/**
 * The client address of an HTTP request, as Fastify's `request.ip` computes it with
 * `trustProxy: true|false`: the left-most X-Forwarded-For entry when the proxy is trusted (the
 * client as the first proxy saw it), else the TCP peer. REST and socket.io both use it, so that the
 * per-IP limits of both see the same client.
 */
export function clientIp(request: IncomingMessage, options: { trustProxy: boolean }): string {
  if (options.trustProxy) {
    const forwarded = request.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return request.socket.remoteAddress ?? 'unknown';
}
