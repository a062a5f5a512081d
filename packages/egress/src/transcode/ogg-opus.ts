/**
 * Ogg Opus (RFC 7845) written page by page, so ffmpeg can read Opus packets with their timeline
 * from a pipe: an OpusHead page, an OpusTags page, then one packet per page (no added latency),
 * its granule position the packet's end in 48 kHz samples, so gaps in the input stay gaps.
 * Pages per RFC 3533.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(page: Buffer): number {
  let crc = 0;
  for (const byte of page) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

const HEADER_TYPE_BOS = 0x02;

export class OggOpusWriter {
  private readonly serial: number;
  private sequence = 0;

  constructor(serial = 0x62626d74) {
    this.serial = serial;
  }

  /** The two header pages (RFC 7845 §5): OpusHead (pre-skip 0: packets join a running stream) and OpusTags. */
  headers(channels: number): Buffer {
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head.writeUInt8(1, 8);
    head.writeUInt8(channels, 9);
    head.writeUInt16LE(0, 10);
    head.writeUInt32LE(48000, 12);
    head.writeInt16LE(0, 16);
    head.writeUInt8(0, 18);
    const vendor = Buffer.from('bbmeet', 'latin1');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'latin1');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    return Buffer.concat([this.page(head, 0, HEADER_TYPE_BOS), this.page(tags, 0, 0)]);
  }

  /** One audio packet on a page of its own; `granule`: 48 kHz samples up to the packet's end. */
  packet(data: Buffer, granule: number): Buffer {
    return this.page(data, granule, 0);
  }

  private page(data: Buffer, granule: number, headerType: number): Buffer {
    // Lacing: 255-byte segments, then one < 255 (0 when the size is a multiple of 255).
    const segments = Math.floor(data.length / 255) + 1;
    if (segments > 255) throw new TypeError('Ogg packet too large for one page');
    const page = Buffer.alloc(27 + segments + data.length);
    page.write('OggS', 0, 'latin1');
    page.writeUInt8(0, 4);
    page.writeUInt8(headerType, 5);
    page.writeBigInt64LE(BigInt(granule), 6);
    page.writeUInt32LE(this.serial, 14);
    page.writeUInt32LE(this.sequence++, 18);
    page.writeUInt8(segments, 26);
    page.fill(255, 27, 27 + segments - 1);
    page.writeUInt8(data.length % 255, 27 + segments - 1);
    data.copy(page, 27 + segments);
    page.writeUInt32LE(oggCrc(page), 22);
    return page;
  }
}

/** Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 §3.1). */
export function opusPacketSamples(packet: Buffer): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  let frameSamples: number;
  if (config < 12) frameSamples = [480, 960, 1920, 2880][config & 3]!;
  else if (config < 16) frameSamples = (config & 1) === 0 ? 480 : 960;
  else frameSamples = [120, 240, 480, 960][config & 3]!;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return frameSamples * frames;
}

export interface OggPage {
  granule: number;
  packets: Buffer[];
}

/** Reads an Ogg stream's pages and the packets ending on them (tests and tools). */
export function readOggPages(file: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let partial: Buffer[] = [];
  for (let at = 0; at + 27 <= file.length; ) {
    if (file.toString('latin1', at, at + 4) !== 'OggS') throw new TypeError('lost Ogg page sync');
    const segments = file.readUInt8(at + 26);
    let dataAt = at + 27 + segments;
    const packets: Buffer[] = [];
    for (let i = 0; i < segments; i++) {
      const size = file.readUInt8(at + 27 + i);
      partial.push(file.subarray(dataAt, dataAt + size));
      dataAt += size;
      if (size < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    pages.push({ granule: Number(file.readBigInt64LE(at + 6)), packets });
    at = dataAt;
  }
  return pages;
}
