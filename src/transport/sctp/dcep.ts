/**
 * The Data Channel Establishment Protocol (RFC 8832) and the WebRTC payload protocol identifiers
 * (RFC 8831 §8): DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK builders and a parser that never throws.
 */

export const Ppid = {
  DCEP: 50,
  STRING: 51,
  BINARY: 53,
  STRING_EMPTY: 56,
  BINARY_EMPTY: 57,
} as const;

export const DcepMessageType = { ACK: 0x02, OPEN: 0x03 } as const;

/** RFC 8832 §5.1 channel types: bit 0x80 = unordered; low bits = reliability. */
export const ChannelType = {
  RELIABLE: 0x00,
  PARTIAL_RELIABLE_REXMIT: 0x01,
  PARTIAL_RELIABLE_TIMED: 0x02,
} as const;
const UNORDERED = 0x80;

export interface DataChannelParameters {
  label: string;
  protocol: string;
  ordered: boolean;
  /** Partial reliability by retransmissions (RFC 3758); undefined with maxPacketLifeTimeMs = reliable. */
  maxRetransmits?: number | undefined;
  maxPacketLifeTimeMs?: number | undefined;
  priority: number;
}

export type DcepMessage = { type: 'open'; parameters: DataChannelParameters } | { type: 'ack' };

const OPEN_HEADER_BYTES = 12;
/** Labels and protocols are at most 65535 bytes each on the wire; we accept far less. */
const MAX_LABEL_BYTES = 1024;

export function buildDataChannelOpen(p: DataChannelParameters): Buffer {
  const label = Buffer.from(p.label, 'utf8');
  const protocol = Buffer.from(p.protocol, 'utf8');
  const out = Buffer.alloc(OPEN_HEADER_BYTES + label.length + protocol.length);
  let type: number = ChannelType.RELIABLE;
  let reliability = 0;
  if (p.maxRetransmits !== undefined) {
    type = ChannelType.PARTIAL_RELIABLE_REXMIT;
    reliability = p.maxRetransmits;
  } else if (p.maxPacketLifeTimeMs !== undefined) {
    type = ChannelType.PARTIAL_RELIABLE_TIMED;
    reliability = p.maxPacketLifeTimeMs;
  }
  out[0] = DcepMessageType.OPEN;
  out[1] = type | (p.ordered ? 0 : UNORDERED);
  out.writeUInt16BE(p.priority & 0xffff, 2);
  out.writeUInt32BE(reliability >>> 0, 4);
  out.writeUInt16BE(label.length, 8);
  out.writeUInt16BE(protocol.length, 10);
  label.copy(out, OPEN_HEADER_BYTES);
  protocol.copy(out, OPEN_HEADER_BYTES + label.length);
  return out;
}

export function buildDataChannelAck(): Buffer {
  return Buffer.from([DcepMessageType.ACK]);
}

/** A DCEP message, or undefined when malformed (unknown type, lengths past the end, bad UTF-8). */
export function parseDcep(data: Buffer): DcepMessage | undefined {
  if (data.length === 0) return undefined;
  if (data[0] === DcepMessageType.ACK) return data.length === 1 ? { type: 'ack' } : undefined;
  if (data[0] !== DcepMessageType.OPEN || data.length < OPEN_HEADER_BYTES) return undefined;
  const channelType = data[1]!;
  const reliabilityType = channelType & 0x7f;
  if (reliabilityType > ChannelType.PARTIAL_RELIABLE_TIMED) return undefined;
  const reliability = data.readUInt32BE(4);
  const labelBytes = data.readUInt16BE(8);
  const protocolBytes = data.readUInt16BE(10);
  if (labelBytes > MAX_LABEL_BYTES || protocolBytes > MAX_LABEL_BYTES) return undefined;
  if (OPEN_HEADER_BYTES + labelBytes + protocolBytes !== data.length) return undefined;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let label: string;
  let protocol: string;
  try {
    label = decoder.decode(data.subarray(OPEN_HEADER_BYTES, OPEN_HEADER_BYTES + labelBytes));
    protocol = decoder.decode(data.subarray(OPEN_HEADER_BYTES + labelBytes));
  } catch {
    return undefined;
  }
  return {
    type: 'open',
    parameters: {
      label,
      protocol,
      ordered: (channelType & UNORDERED) === 0,
      maxRetransmits: reliabilityType === ChannelType.PARTIAL_RELIABLE_REXMIT ? reliability : undefined,
      maxPacketLifeTimeMs: reliabilityType === ChannelType.PARTIAL_RELIABLE_TIMED ? reliability : undefined,
      priority: data.readUInt16BE(2),
    },
  };
}
