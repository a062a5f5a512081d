/**
 * SCTP packet framing (RFC 9260 §3) as far as we need it before handing a packet to the
 * association: the common header, the CRC32c checksum (RFC 9260 Appendix B) and the chunk layout.
 * A packet that fails these checks is dropped and counted by the caller; the association library
 * never sees it (it loops forever on a zero chunk length and throws on unknown chunk types).
 */

export const SCTP_COMMON_HEADER_BYTES = 12;

/** Chunk types the association implementation (werift-sctp) understands. */
export const ChunkType = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  SHUTDOWN_COMPLETE: 14,
  RE_CONFIG: 130,
  FORWARD_TSN: 192,
} as const;

const KNOWN = new Set<number>(Object.values(ChunkType));

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32c of `data` with the checksum field (bytes 8..12) read as zero. */
export function sctpChecksum(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    const byte = i >= 8 && i < 12 ? 0 : data[i]!;
    crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export type PacketCheck =
  | { ok: true }
  | {
      ok: false;
      reason: 'short' | 'checksum' | 'chunk_length' | 'unknown_chunk' | 'no_chunk' | 'parameter_length';
    };

/**
 * Where the parameters (RFC 9260 §3.2.1 TLVs) of a chunk start in its value, for the chunk types
 * werift-sctp reads parameters from: after INIT's and INIT-ACK's 16 fixed bytes, or at once.
 */
const PARAMS_AT = new Map<number, number>([
  [ChunkType.INIT, 16],
  [ChunkType.INIT_ACK, 16],
  [ChunkType.HEARTBEAT, 0],
  [ChunkType.HEARTBEAT_ACK, 0],
  [ChunkType.ABORT, 0],
  [ChunkType.ERROR, 0],
  [ChunkType.RE_CONFIG, 0],
]);

/**
 * Checks a packet's framing: at least one chunk, each chunk's length ≥ 4 and inside the packet,
 * every type known, and the checksum. Unknown types are refused whatever their upper bits say
 * (RFC 9260 §3.2 lets a receiver skip some of them, but our association library cannot).
 */
export function checkSctpPacket(data: Buffer): PacketCheck {
  if (data.length < SCTP_COMMON_HEADER_BYTES + 4) return { ok: false, reason: 'short' };
  let pos = SCTP_COMMON_HEADER_BYTES;
  let chunks = 0;
  while (pos < data.length) {
    if (pos + 4 > data.length) return { ok: false, reason: 'chunk_length' };
    const type = data[pos]!;
    const length = data.readUInt16BE(pos + 2);
    if (length < 4 || pos + length > data.length) return { ok: false, reason: 'chunk_length' };
    if (!KNOWN.has(type)) return { ok: false, reason: 'unknown_chunk' };
    const paramsAt = PARAMS_AT.get(type);
    if (paramsAt !== undefined && !paramsFit(data, pos + 4 + paramsAt, pos + length))
      return { ok: false, reason: 'parameter_length' };
    chunks++;
    pos += length + ((4 - (length % 4)) % 4);
  }
  if (chunks === 0) return { ok: false, reason: 'no_chunk' };
  if (data.readUInt32LE(8) !== sctpChecksum(data)) return { ok: false, reason: 'checksum' };
  return { ok: true };
}

/**
 * Every parameter in [start, end) has a length ≥ 4 that stays inside the chunk. werift-sctp walks
 * them without that check: a length of 0 never advances and it pushes parameters until the heap
 * is exhausted. Fewer than 4 bytes left over are ignored, as the library does.
 */
function paramsFit(data: Buffer, start: number, end: number): boolean {
  for (let pos = start; pos + 4 <= end; ) {
    const length = data.readUInt16BE(pos + 2);
    if (length < 4 || pos + length > end) return false;
    pos += length + ((4 - (length % 4)) % 4);
  }
  return true;
}

export interface ChunkSpec {
  type: number;
  flags?: number;
  body?: Buffer;
}

/** Builds an SCTP packet (common header, padded chunks, checksum). For tests and tools. */
export function buildSctpPacket(
  header: { sourcePort: number; destinationPort: number; verificationTag: number },
  chunks: ChunkSpec[],
): Buffer {
  const parts: Buffer[] = [];
  const common = Buffer.alloc(SCTP_COMMON_HEADER_BYTES);
  common.writeUInt16BE(header.sourcePort, 0);
  common.writeUInt16BE(header.destinationPort, 2);
  common.writeUInt32BE(header.verificationTag >>> 0, 4);
  parts.push(common);
  for (const c of chunks) {
    const body = c.body ?? Buffer.alloc(0);
    const chunk = Buffer.alloc(4 + body.length + ((4 - (body.length % 4)) % 4));
    chunk[0] = c.type;
    chunk[1] = c.flags ?? 0;
    chunk.writeUInt16BE(4 + body.length, 2);
    body.copy(chunk, 4);
    parts.push(chunk);
  }
  const packet = Buffer.concat(parts);
  packet.writeUInt32LE(sctpChecksum(packet), 8);
  return packet;
}
