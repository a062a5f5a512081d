import { createHmac, randomBytes } from 'node:crypto';
import { crc32 } from '../../src/transport/ice/crc32.ts';

/**
 * A browser-like STUN Binding request (RFC 8489 / RFC 8445): USERNAME, PRIORITY, ICE-CONTROLLING,
 * USE-CANDIDATE when nominating, MESSAGE-INTEGRITY keyed with `password`, FINGERPRINT.
 */
export function bindingRequest(
  username: string,
  password: string,
  /**
   * `winsConflicts`: the largest tie-breaker, so the agent keeps the controlling role (RFC 8445
   * §7.3.1.1); `priority`: the PRIORITY attribute (RFC 8445 §7.1.1), a fixed peer-reflexive one by default.
   */
  options: { useCandidate?: boolean; winsConflicts?: boolean; priority?: number } = {},
): Buffer {
  const attrs: Buffer[] = [];
  const attr = (type: number, value: Buffer) => {
    const a = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
    a.writeUInt16BE(type, 0);
    a.writeUInt16BE(value.length, 2);
    value.copy(a, 4);
    attrs.push(a);
  };
  attr(0x0006, Buffer.from(username));
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(options.priority ?? 0x6e0001ff);
  attr(0x0024, priority);
  attr(0x802a, options.winsConflicts ? Buffer.alloc(8, 0xff) : randomBytes(8));
  if (options.useCandidate ?? true) attr(0x0025, Buffer.alloc(0));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(header, 8);
  let msg = Buffer.concat([header, ...attrs]);
  msg.writeUInt16BE(msg.length - 20 + 24, 2);
  const mi = Buffer.alloc(24);
  mi.writeUInt16BE(0x0008, 0);
  mi.writeUInt16BE(20, 2);
  createHmac('sha1', password).update(msg).digest().copy(mi, 4);
  msg = Buffer.concat([msg, mi]);
  msg.writeUInt16BE(msg.length - 20 + 8, 2);
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(0x8028, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE((crc32(msg) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([msg, fp]);
}
