import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { Logger } from '../lib/logger.ts';
import {
  buildBindingRequest,
  parseStun,
  StunType,
  stunXorMappedAddress,
  verifyFingerprint,
} from './ice/index.ts';

/**
 * PUBLIC_IP_DISCOVERY: the server's public IPv4 address as STUN servers see it (RFC 8489 Binding
 * request, XOR-MAPPED-ADDRESS of the answer), for a machine behind 1:1 NAT whose operator did not
 * set PUBLIC_IP. Bounded: it never blocks a start for more than a few seconds per server.
 */

export interface StunServerAddress {
  /** As configured (`stun:host:port`), for logs. */
  url: string;
  host: string;
  port: number;
}

/**
 * Retransmissions of one request: RFC 8489 §6.2.1's RTO of 500 ms doubled after each send, cut
 * to 3 sends and a last wait of 1.5 s (3 s per server instead of the RFC's 39.5 s: a start should
 * not wait that long for an address it can do without).
 */
export interface DiscoveryTiming {
  rtoMs: number;
  transmissions: number;
  lastWaitMs: number;
}

export const DISCOVERY_TIMING: DiscoveryTiming = { rtoMs: 500, transmissions: 3, lastWaitMs: 1500 };

export interface DiscoveredAddress {
  address: string;
  /** The server that gave it (its configured URL). */
  server: string;
}

export interface DiscoveryOptions {
  logger: Logger;
  timing?: DiscoveryTiming;
}

/**
 * Asks each server in order until one tells our IPv4 address; undefined when none did (each
 * failure is logged, never thrown).
 */
export async function discoverPublicIp(
  servers: readonly StunServerAddress[],
  { logger, timing = DISCOVERY_TIMING }: DiscoveryOptions,
): Promise<DiscoveredAddress | undefined> {
  const socket = dgram.createSocket('udp4');
  // An unconnected UDP socket reports send failures to the send callback; this is for anything else.
  socket.on('error', (err) => logger.warn({ err: err.message }, 'public address discovery socket error'));
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  try {
    for (const server of servers) {
      const address = await askServer(socket, server, timing, logger);
      if (address !== undefined) {
        logger.info({ address, server: server.url }, 'public address discovered over STUN');
        return { address, server: server.url };
      }
    }
  } finally {
    socket.close();
  }
  logger.warn(
    { servers: servers.map((s) => s.url) },
    "public address discovery failed: no STUN server gave an IPv4 address, announcing this machine's own addresses",
  );
  return undefined;
}

/**
 * The address the media workers announce: PUBLIC_IP when set (discovery is then skipped),
 * else the discovered one when PUBLIC_IP_DISCOVERY names servers, else undefined (own addresses).
 */
export async function resolvePublicIp(
  media: { publicIp: string | undefined; publicIpDiscovery: readonly StunServerAddress[] },
  options: DiscoveryOptions,
): Promise<string | undefined> {
  if (media.publicIpDiscovery.length === 0) return media.publicIp;
  if (media.publicIp !== undefined) {
    options.logger.info(
      { publicIp: media.publicIp, servers: media.publicIpDiscovery.map((s) => s.url) },
      'PUBLIC_IP is set: it wins over PUBLIC_IP_DISCOVERY, no STUN request sent',
    );
    return media.publicIp;
  }
  return (await discoverPublicIp(media.publicIpDiscovery, options))?.address;
}

/** One server: the request sent up to `timing.transmissions` times; the first valid answer wins. */
function askServer(
  socket: dgram.Socket,
  server: StunServerAddress,
  timing: DiscoveryTiming,
  logger: Logger,
): Promise<string | undefined> {
  const transactionId = randomBytes(12);
  const request = buildBindingRequest(transactionId);
  return new Promise((resolve) => {
    let sent = 0;
    let ignored = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (address: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('message', onMessage);
      if (ignored > 0) logger.warn({ server: server.url, ignored }, 'STUN replies ignored');
      if (address === undefined) logger.warn({ server: server.url, sent }, 'STUN server gave no address');
      resolve(address);
    };
    const onMessage = (msg: Buffer, from: dgram.RemoteInfo) => {
      const reply = readReply(msg, transactionId);
      if ('address' in reply) return finish(reply.address);
      ignored++;
      logger.debug(
        { server: server.url, from: `${from.address}:${from.port}`, reason: reply.reason },
        'STUN reply ignored',
      );
    };
    const send = () => {
      if (sent === timing.transmissions) return finish(undefined);
      sent++;
      socket.send(request, server.port, server.host, (err) => {
        // A name that does not resolve or an unreachable network: this server cannot answer.
        if (err) {
          logger.warn({ server: server.url, err: err.message }, 'STUN request could not be sent');
          finish(undefined);
        }
      });
      timer = setTimeout(
        send,
        sent === timing.transmissions ? timing.lastWaitMs : timing.rtoMs * 2 ** (sent - 1),
      );
    };
    socket.on('message', onMessage);
    send();
  });
}

/** Our IPv4 address from a Binding success answering `transactionId`, or why the datagram is ignored. */
function readReply(msg: Buffer, transactionId: Buffer): { address: string } | { reason: string } {
  const parsed = parseStun(msg);
  if (!parsed) return { reason: 'not a well-formed STUN message' };
  if (!parsed.transactionId.equals(transactionId)) return { reason: 'foreign transaction id' };
  if (parsed.type !== StunType.BindingSuccess)
    return { reason: `message type 0x${parsed.type.toString(16)}` };
  if (!verifyFingerprint(parsed)) return { reason: 'bad FINGERPRINT' };
  const mapped = stunXorMappedAddress(parsed);
  if (!mapped) return { reason: 'no XOR-MAPPED-ADDRESS' };
  if (mapped.family !== 'IPv4') return { reason: 'IPv6 mapping (IPv4 needed)' };
  return { address: mapped.address };
}
