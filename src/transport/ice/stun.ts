import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from './crc32.ts';
import {
  type IpFamily,
  readXorMappedAddress,
  type TransportAddress,
  xorMappedAddressValue,
} from './stun-address.ts';

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
  iceControlled: boolean;
  /** The ICE-CONTROLLING or ICE-CONTROLLED tie-breaker (RFC 8445 §7.1.3), for role conflicts. */
  tieBreaker: bigint | undefined;
  /** Offset of XOR-MAPPED-ADDRESS's value, or -1 (responses). */
  xorMappedAddressOffset: number;
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
    iceControlled: false,
    tieBreaker: undefined,
    xorMappedAddressOffset: -1,
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
    case Attr.IceControlled:
      if (len !== 8) return;
      msg.iceControlling = type === Attr.IceControlling;
      msg.iceControlled = type === Attr.IceControlled;
      msg.tieBreaker = buf.readBigUInt64BE(value);
      return;
    case Attr.XorMappedAddress:
      msg.xorMappedAddressOffset = value;
      return;
    case Attr.MessageIntegrity:
      if (len === 20) msg.integrityOffset = header;
      return;
    case Attr.Fingerprint:
      if (len === 4) msg.fingerprintOffset = header;
      return;
  }
}

/** Checks FINGERPRINT when present (RFC 8489 §14.7: the last attribute); a message without one passes. */
export function verifyFingerprint(msg: StunMessage): boolean {
  if (msg.fingerprintOffset < 0) return true;
  if (msg.fingerprintOffset + 8 !== msg.raw.length) return false;
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
 * A Binding success response telling the peer its reflexive address (XOR-MAPPED-ADDRESS, RFC 8489
 * §14.2), with MESSAGE-INTEGRITY (our password) and FINGERPRINT. An address that does not parse
 * is sent as the zero address of its family.
 */
export function buildBindingSuccess(
  transactionId: Buffer,
  address: string,
  port: number,
  family: IpFamily,
  password: string,
): Buffer {
  const header = messageHeader(StunType.BindingSuccess, transactionId);
  const xor =
    xorMappedAddressValue({ address, port, family }, header) ??
    xorMappedAddressValue({ address: family === 'IPv4' ? '0.0.0.0' : '::', port, family }, header)!;
  const buf = Buffer.alloc(STUN_HEADER_BYTES + 4 + xor.length + 24 + 8);
  header.copy(buf);
  let o = STUN_HEADER_BYTES;
  buf.writeUInt16BE(Attr.XorMappedAddress, o);
  buf.writeUInt16BE(xor.length, o + 2);
  buf.set(xor, o + 4);
  o += 4 + xor.length;
  appendIntegrity(buf, o, password);
  appendFingerprint(buf, o + 24);
  return buf;
}

/**
 * A Binding request as a STUN client sends it to a STUN server (RFC 8489 §6.1): no attribute but
 * FINGERPRINT, so any server answers it without credentials.
 */
export function buildBindingRequest(transactionId: Buffer): Buffer {
  const buf = Buffer.alloc(STUN_HEADER_BYTES + 8);
  messageHeader(StunType.BindingRequest, transactionId).copy(buf);
  appendFingerprint(buf, STUN_HEADER_BYTES);
  return buf;
}

/**
 * A Binding error response (RFC 8489 §14.8 ERROR-CODE: 400 Bad Request, 401 Unauthorized, 487 Role
 * Conflict, …) with FINGERPRINT, and MESSAGE-INTEGRITY when `password` is given (RFC 8445
 * §7.3.1.1: a 487 answers an authenticated request, so it is authenticated too; a 401 is not).
 */
export function buildBindingError(
  transactionId: Buffer,
  code: number,
  reason: string,
  password?: string,
): Buffer {
  const reasonBytes = Buffer.from(reason, 'utf8').subarray(0, 763);
  const valueLen = 4 + reasonBytes.length;
  const padded = valueLen + ((4 - (valueLen % 4)) % 4);
  const integrityBytes = password === undefined ? 0 : 24;
  const buf = Buffer.alloc(STUN_HEADER_BYTES + 4 + padded + integrityBytes + 8);
  messageHeader(StunType.BindingError, transactionId).copy(buf);
  let o = STUN_HEADER_BYTES;
  buf.writeUInt16BE(Attr.ErrorCode, o);
  buf.writeUInt16BE(valueLen, o + 2);
  buf.writeUInt8(Math.floor(code / 100) & 0x07, o + 6);
  buf.writeUInt8(code % 100, o + 7);
  reasonBytes.copy(buf, o + 8);
  o += 4 + padded;
  if (password !== undefined) {
    appendIntegrity(buf, o, password);
    o += 24;
  }
  appendFingerprint(buf, o);
  return buf;
}

/** ERROR-CODE of an error response as `code` (e.g. 401), or undefined when absent or malformed. */
export function stunErrorCode(msg: StunMessage): number | undefined {
  const at = findAttribute(msg.raw, Attr.ErrorCode);
  if (at < 0 || msg.raw.readUInt16BE(at + 2) < 4) return undefined;
  return (msg.raw[at + 6]! & 0x07) * 100 + msg.raw[at + 7]!;
}

/** The XOR-MAPPED-ADDRESS of a (success) response, or undefined. */
export function stunXorMappedAddress(msg: StunMessage): TransportAddress | undefined {
  const at = msg.xorMappedAddressOffset;
  return at < 0 ? undefined : readXorMappedAddress(msg.raw, at, msg.raw.readUInt16BE(at - 2));
}

/** Offset of the first attribute of `type` in a parsed (so well-formed) message, or -1. */
function findAttribute(raw: Buffer, type: number): number {
  for (let o = STUN_HEADER_BYTES; o + 4 <= raw.length; ) {
    const len = raw.readUInt16BE(o + 2);
    if (o + 4 + len > raw.length) return -1;
    if (raw.readUInt16BE(o) === type) return o;
    o += 4 + len + ((4 - (len % 4)) % 4);
  }
  return -1;
}

function messageHeader(type: number, transactionId: Buffer): Buffer {
  const header = Buffer.alloc(STUN_HEADER_BYTES);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8, 0, 12);
  return header;
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
