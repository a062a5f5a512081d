import type { IceCandidateInfo } from './media-transport.ts';

/** RFC 8445 §5.1.2.2: host candidates have the highest type preference (126), UDP and TCP alike. */
const HOST_TYPE_PREFERENCE = 126;
/** RFC 6544 §4.2: direction preference of a passive host candidate (active 6, passive 4, S-O 2). */
const PASSIVE_DIRECTION_PREFERENCE = 4;
const MAX_OTHER_PREFERENCE = 8191;
const MAX_LOCAL_PREFERENCE = 65_535;

/** RFC 8445 §5.1.2.1: priority = 2^24 × type preference + 2^8 × local preference + (256 − component). */
export function candidatePriority(typePreference: number, localPreference: number, component = 1): number {
  return typePreference * 2 ** 24 + localPreference * 2 ** 8 + (256 - component);
}

/**
 * Local preference of the `index`-th announced address: UDP counts down from 65535; TCP follows
 * RFC 6544 §4.2 (2^13 × direction preference + other preference), at most 40959 for a passive
 * candidate, so every UDP candidate outranks every TCP one and a peer that can use UDP does.
 */
export function localPreference(protocol: 'udp' | 'tcp', index: number): number {
  if (protocol === 'udp') return MAX_LOCAL_PREFERENCE - index;
  return 2 ** 13 * PASSIVE_DIRECTION_PREFERENCE + Math.max(0, MAX_OTHER_PREFERENCE - index);
}

/**
 * The host candidates of a worker: each announced IPv4 address on the UDP port, then each IPv6
 * address on the IPv6 UDP port, then the IPv4 addresses on the TCP port and the IPv6 addresses on
 * the IPv6 TCP port as passive ICE-TCP candidates (RFC 6544 §4.5: the peer connects to them). Any
 * port may be left out.
 *
 * IPv6 ranks below IPv4 (its local preferences continue the IPv4 countdown, for UDP and for TCP
 * alike; every UDP candidate still outranks every TCP one), not above it as
 * RFC 8421 §4 suggests for dual-stack hosts. That is our side's preference only: an ICE-lite
 * server never nominates, and a pair's priority (RFC 8445 §6.1.2.3) is dominated by the smaller
 * of the two candidates' priorities, usually the browser's own, so a browser that ranks its own
 * IPv6 candidates first (Chromium does) may still pick IPv6 where both families work.
 */
export function hostCandidates(options: {
  ips: readonly string[];
  udpPort?: number | undefined;
  tcpPort?: number | undefined;
  /** IPv6 addresses, announced on udpPort6 and tcpPort6. */
  ips6?: readonly string[] | undefined;
  udpPort6?: number | undefined;
  tcpPort6?: number | undefined;
}): IceCandidateInfo[] {
  const { ips, udpPort, tcpPort, udpPort6, tcpPort6 } = options;
  const ips6 = options.ips6 ?? [];
  const udp4 = udpPort === undefined ? [] : ips.map((ip) => ({ ip, port: udpPort }));
  const udp6 = udpPort6 === undefined ? [] : ips6.map((ip) => ({ ip, port: udpPort6 }));
  const tcp4 = tcpPort === undefined ? [] : ips.map((ip) => ({ ip, port: tcpPort }));
  const tcp6 = tcpPort6 === undefined ? [] : ips6.map((ip) => ({ ip, port: tcpPort6 }));
  // Foundations differ per address and protocol (RFC 8445 §5.1.1.3): UDP 1..n, then TCP n+1...
  const udp = [...udp4, ...udp6].map((c, index) => candidate('udp', c.ip, c.port, index, index + 1));
  const tcp = [...tcp4, ...tcp6].map((c, index) =>
    candidate('tcp', c.ip, c.port, index, udp.length + index + 1),
  );
  return [...udp, ...tcp];
}

function candidate(
  protocol: 'udp' | 'tcp',
  ip: string,
  port: number,
  index: number,
  foundation: number,
): IceCandidateInfo {
  return {
    foundation: String(foundation),
    component: 1,
    protocol,
    priority: candidatePriority(HOST_TYPE_PREFERENCE, localPreference(protocol, index)),
    ip,
    port,
    type: 'host',
    ...(protocol === 'tcp' ? { tcpType: 'passive' as const } : {}),
  };
}
