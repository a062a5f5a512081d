import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from './crc32.ts';

/**
 * The part of STUN (RFC 8489) an ICE-lite agent needs (RFC 8445 §2.5): parse Binding requests with
 * bounds checks, verify MESSAGE-INTEGRITY and FINGERPRINT, and build Binding responses.
 */

export const STUN_HEADER_BYTES = 20;
const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_XOR = 0x5354554e;

export const StunType = {
  BindingRequest: 0x0001,
  BindingSuccess: 0x0101,
  BindingError: 0x0111,
  BindingIndication: 0x0011,
} as const;

const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  XorMappedAddress: 0x0020,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
} as const;

export interface StunMessage {
  type: number;
  transactionId: Buffer;
  username: string | undefined;
  priority: number | undefined;
  useCandidate: boolean;
  iceControlling: boolean;
  /** Offset of MESSAGE-INTEGRITY's header, or -1. */
  integrityOffset: number;
  /** Offset of FINGERPRINT's header, or -1. */
  fingerprintOffset: number;
  raw: Buffer;
}

/** RFC 7983: a STUN message starts with 0b00 and carries the magic cookie. */
export function looksLikeStun(buf: Buffer): boolean {
  return buf.length >= STUN_HEADER_BYTES && buf[0]! < 4 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/** Parses a STUN message; undefined when it is malformed (lengths, padding, attribute bounds). */
export function parseStun(buf: Buffer): StunMessage | undefined {
  if (!looksLikeStun(buf)) return undefined;
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || STUN_HEADER_BYTES + length !== buf.length) return undefined;
  const msg: StunMessage = {
    type: buf.readUInt16BE(0),
    transactionId: buf.subarray(8, 20),
    username: undefined,
    priority: undefined,
    useCandidate: false,
    iceControlling: false,
    integrityOffset: -1,
    fingerprintOffset: -1,
    raw: buf,
  };
  let offset = STUN_HEADER_BYTES;
  while (offset + 4 <= buf.length) {
    const type = buf.readUInt16BE(offset);
    const len = buf.readUInt16BE(offset + 2);
    const value = offset + 4;
    if (value + len > buf.length) return undefined;
    // Attributes after MESSAGE-INTEGRITY are ignored, except FINGERPRINT (RFC 8489 §14.5).
    if (msg.integrityOffset < 0 || type === Attr.Fingerprint)
      readAttribute(msg, buf, type, offset, value, len);
    if (msg.fingerprintOffset >= 0) break;
    offset = value + len + ((4 - (len % 4)) % 4);
  }
  return msg;
}

function readAttribute(
  msg: StunMessage,
  buf: Buffer,
  type: number,
  header: number,
  value: number,
  len: number,
): void {
  switch (type) {
    case Attr.Username:
      msg.username = buf.toString('utf8', value, value + len);
      return;
    case Attr.Priority:
      if (len === 4) msg.priority = buf.readUInt32BE(value);
      return;
    case Attr.UseCandidate:
      msg.useCandidate = true;
      return;
    case Attr.IceControlling:
      msg.iceControlling = true;
      return;
    case Attr.MessageIntegrity:
      if (len === 20) msg.integrityOffset = header;
      return;
    case Attr.Fingerprint:
      if (len === 4) msg.fingerprintOffset = header;
      return;
  }
}

/** Checks FINGERPRINT when present (RFC 8489 §14.7); a message without one passes. */
export function verifyFingerprint(msg: StunMessage): boolean {
  if (msg.fingerprintOffset < 0) return true;
  const expected =
    (crc32(withLength(msg.raw, msg.fingerprintOffset + 8), 0, msg.fingerprintOffset) ^ FINGERPRINT_XOR) >>> 0;
  return msg.raw.readUInt32BE(msg.fingerprintOffset + 4) === expected;
}

/** Checks MESSAGE-INTEGRITY (HMAC-SHA1 keyed with the ICE password, RFC 8489 §14.5). */
export function verifyIntegrity(msg: StunMessage, password: string): boolean {
  if (msg.integrityOffset < 0) return false;
  const covered = withLength(msg.raw, msg.integrityOffset + 24).subarray(0, msg.integrityOffset);
  const expected = createHmac('sha1', password).update(covered).digest();
  const given = msg.raw.subarray(msg.integrityOffset + 4, msg.integrityOffset + 24);
  return timingSafeEqual(expected, given);
}

/** A copy of the header whose length field says the message ends at `end` (for HMAC and CRC). */
function withLength(raw: Buffer, end: number): Buffer {
  const copy = Buffer.from(raw.subarray(0, end));
  copy.writeUInt16BE(end - STUN_HEADER_BYTES, 2);
  return copy;
}

/**
 * A Binding success response to `request` telling the peer its reflexive address, with
 * MESSAGE-INTEGRITY (our password) and FINGERPRINT.
 */
export function buildBindingSuccess(
  transactionId: Buffer,
  address: string,
  port: number,
  family: 'IPv4' | 'IPv6',
  password: string,
): Buffer {
  const ipBytes = family === 'IPv4' ? 4 : 16;
  const xorLen = 4 + ipBytes;
  const buf = Buffer.alloc(STUN_HEADER_BYTES + 4 + xorLen + 24 + 8);
  buf.writeUInt16BE(StunType.BindingSuccess, 0);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(buf, 8);
  let o = STUN_HEADER_BYTES;
  buf.writeUInt16BE(Attr.XorMappedAddress, o);
  buf.writeUInt16BE(xorLen, o + 2);
  buf.writeUInt8(family === 'IPv4' ? 1 : 2, o + 5);
  buf.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), o + 6);
  const ip = family === 'IPv4' ? ipv4Bytes(address) : ipv6Bytes(address);
  const mask = Buffer.concat([buf.subarray(4, 8), transactionId]);
  for (let i = 0; i < ipBytes; i++) buf[o + 8 + i] = ip[i]! ^ mask[i]!;
  o += 4 + xorLen;
  appendIntegrity(buf, o, password);
  o += 24;
  appendFingerprint(buf, o);
  return buf;
}

/** A Binding error response (e.g. 401 Unauthorized, 487 Role Conflict), with FINGERPRINT. */
export function buildBindingError(transactionId: Buffer, code: number, reason: string): Buffer {
  const reasonBytes = Buffer.from(reason, 'utf8');
  const valueLen = 4 + reasonBytes.length;
  const padded = valueLen + ((4 - (valueLen % 4)) % 4);
  const buf = Buffer.alloc(STUN_HEADER_BYTES + 4 + padded + 8);
  buf.writeUInt16BE(StunType.BindingError, 0);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(buf, 8);
  let o = STUN_HEADER_BYTES;
  buf.writeUInt16BE(Attr.ErrorCode, o);
  buf.writeUInt16BE(valueLen, o + 2);
  buf.writeUInt8(Math.floor(code / 100), o + 6);
  buf.writeUInt8(code % 100, o + 7);
  reasonBytes.copy(buf, o + 8);
  o += 4 + padded;
  appendFingerprint(buf, o);
  return buf;
}

function appendIntegrity(buf: Buffer, offset: number, password: string): void {
  buf.writeUInt16BE(offset + 24 - STUN_HEADER_BYTES, 2);
  buf.writeUInt16BE(Attr.MessageIntegrity, offset);
  buf.writeUInt16BE(20, offset + 2);
  createHmac('sha1', password)
    .update(buf.subarray(0, offset))
    .digest()
    .copy(buf, offset + 4);
}

function appendFingerprint(buf: Buffer, offset: number): void {
  buf.writeUInt16BE(offset + 8 - STUN_HEADER_BYTES, 2);
  buf.writeUInt16BE(Attr.Fingerprint, offset);
  buf.writeUInt16BE(4, offset + 2);
  buf.writeUInt32BE((crc32(buf, 0, offset) ^ FINGERPRINT_XOR) >>> 0, offset + 4);
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map((p) => Number(p) & 0xff);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16) || 0, i * 2);
  return out;
}
