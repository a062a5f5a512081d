/**
 * IP addresses as STUN carries them: text ↔ bytes, and the XOR-MAPPED-ADDRESS value (RFC 8489
 * §14.2: family, port XOR the cookie's top 16 bits, address XOR cookie ‖ transaction id).
 */

export type IpFamily = 'IPv4' | 'IPv6';

export interface TransportAddress {
  address: string;
  port: number;
  family: IpFamily;
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

/** Bytes of a dotted IPv4 address, or undefined when it is not one. */
export function ipv4Bytes(address: string): Uint8Array | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (const [i, p] of parts.entries()) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** Bytes of an IPv6 address ('::' compression, an IPv4 tail, a %zone suffix), or undefined. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  const text = address.split('%')[0] ?? '';
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (!half) return [];
    const out: number[] = [];
    for (const g of half.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4Bytes(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(Number.parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (const [i, g] of all.entries()) {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

function ipv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Bytes of XOR-MAPPED-ADDRESS's value for `to`; undefined when the address does not parse. */
export function xorMappedAddressValue(to: TransportAddress, header: Uint8Array): Uint8Array | undefined {
  const ip = to.family === 'IPv4' ? ipv4Bytes(to.address) : ipv6Bytes(to.address);
  if (!ip) return undefined;
  const out = new Uint8Array(4 + ip.length);
  out[1] = to.family === 'IPv4' ? FAMILY_IPV4 : FAMILY_IPV6;
  // The mask is the magic cookie then the transaction id: header bytes 4–19.
  out[2] = ((to.port >> 8) & 0xff) ^ header[4]!;
  out[3] = (to.port & 0xff) ^ header[5]!;
  for (let i = 0; i < ip.length; i++) out[4 + i] = ip[i]! ^ header[4 + i]!;
  return out;
}

/** Decodes XOR-MAPPED-ADDRESS's value at `at` (`length` bytes) of a message; undefined when malformed. */
export function readXorMappedAddress(
  msg: Uint8Array,
  at: number,
  length: number,
): TransportAddress | undefined {
  if (at < 20 || at + length > msg.length || length < 8) return undefined;
  const family = msg[at + 1];
  const ipBytes = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (ipBytes === 0 || length !== 4 + ipBytes) return undefined;
  const port = (((msg[at + 2]! ^ msg[4]!) << 8) | (msg[at + 3]! ^ msg[5]!)) >>> 0;
  const ip = new Uint8Array(ipBytes);
  for (let i = 0; i < ipBytes; i++) ip[i] = msg[at + 4 + i]! ^ msg[4 + i]!;
  return ipBytes === 4
    ? { address: ip.join('.'), port, family: 'IPv4' }
    : { address: ipv6Text(ip), port, family: 'IPv6' };
}
