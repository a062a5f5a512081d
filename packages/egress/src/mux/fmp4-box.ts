/**
 * ISO BMFF (ISO/IEC 14496-12) box writing: a growable big-endian byte writer whose `box()` fills in
 * each box's size once its body is written. The fMP4/CMAF init and fragment writers build on it.
 */
export class BoxWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1024) {
    this.buf = Buffer.alloc(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  /** Writes `type` with a size header around what `body` writes. */
  box(type: string, body: (w: BoxWriter) => void): this {
    const start = this.pos;
    this.u32(0).fourcc(type);
    body(this);
    this.buf.writeUInt32BE(this.pos - start, start);
    return this;
  }

  /** A FullBox: version and 24-bit flags before the body. */
  fullBox(type: string, version: number, flags: number, body: (w: BoxWriter) => void): this {
    return this.box(type, (w) => {
      w.u8(version).u24(flags);
      body(w);
    });
  }

  u8(value: number): this {
    this.ensure(1);
    this.buf.writeUInt8(value & 0xff, this.pos);
    this.pos += 1;
    return this;
  }

  u16(value: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(value & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  i16(value: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(value, this.pos);
    this.pos += 2;
    return this;
  }

  u24(value: number): this {
    return this.u8(value >>> 16).u16(value & 0xffff);
  }

  u32(value: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(value >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(value: number): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt(value), this.pos);
    this.pos += 8;
    return this;
  }

  /** `count` bytes of zero (reserved fields). */
  zeros(count: number): this {
    this.ensure(count);
    this.buf.fill(0, this.pos, this.pos + count);
    this.pos += count;
    return this;
  }

  fourcc(type: string): this {
    if (type.length !== 4) throw new TypeError(`box type must be 4 characters: ${type}`);
    this.ensure(4);
    this.buf.write(type, this.pos, 'latin1');
    this.pos += 4;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** A NUL-terminated UTF-8 string (hdlr names). */
  cstring(text: string): this {
    return this.bytes(Buffer.from(text, 'utf8')).u8(0);
  }

  /** The unity transformation matrix of mvhd/tkhd. */
  matrix(): this {
    for (const v of [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000]) this.u32(v);
    return this;
  }

  /** Overwrites a u32 already written (trun data_offset once the moof size is known). */
  patchU32(offset: number, value: number): void {
    this.buf.writeUInt32BE(value >>> 0, offset);
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(more: number): void {
    if (this.pos + more <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + more));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
