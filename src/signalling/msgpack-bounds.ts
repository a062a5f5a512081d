/**
 * A msgpack decoder that trusts no declared length: every str/bin/ext length and every array/map
 * count is checked against the bytes left in the frame before anything is allocated, nesting depth
 * and the total number of values are bounded, and any malformed input (truncated, reserved 0xc1,
 * trailing bytes) throws a `MsgpackBoundsError`. On valid input it returns exactly what notepack.io
 * 2.2.0 (the decoder of socket.io-msgpack-parser, hence of Waterbus clients) returns, including its
 * extensions: ext type 0 is an ArrayBuffer, fixext1 type 0 is `undefined`, fixext8 type 0 a Date,
 * any other ext `[type, Buffer]`. Spec: https://github.com/msgpack/msgpack/blob/master/spec.md
 */

export type MsgpackRejectReason =
  | 'not_binary'
  | 'truncated'
  | 'length_exceeds_frame'
  | 'too_deep'
  | 'too_many_values'
  | 'reserved_byte'
  | 'invalid_map_key'
  | 'trailing_bytes'
  | 'invalid_packet';

export class MsgpackBoundsError extends TypeError {
  readonly reason: MsgpackRejectReason;

  constructor(reason: MsgpackRejectReason, message: string) {
    super(message);
    this.name = 'MsgpackBoundsError';
    this.reason = reason;
  }
}

export interface MsgpackLimits {
  /** Arrays and maps nested deeper than this are rejected. Default 32. */
  maxDepth: number;
  /** Values in one frame (map keys included); more are rejected. Default 10 000. */
  maxValues: number;
}

export const DEFAULT_MSGPACK_LIMITS: MsgpackLimits = { maxDepth: 32, maxValues: 10_000 };

type Sized = 'bin' | 'ext' | 'str' | 'array' | 'map';

/** Prefixes followed by a big-endian length of 1, 2 or 4 bytes. */
const LENGTH_PREFIXES: ReadonlyMap<number, readonly [Sized, 1 | 2 | 4]> = new Map([
  [0xc4, ['bin', 1]],
  [0xc5, ['bin', 2]],
  [0xc6, ['bin', 4]],
  [0xc7, ['ext', 1]],
  [0xc8, ['ext', 2]],
  [0xc9, ['ext', 4]],
  [0xd9, ['str', 1]],
  [0xda, ['str', 2]],
  [0xdb, ['str', 4]],
  [0xdc, ['array', 2]],
  [0xdd, ['array', 4]],
  [0xde, ['map', 2]],
  [0xdf, ['map', 4]],
]);

/** fixext 1, 2, 4, 8, 16: the data size of prefixes 0xd4 to 0xd8. */
const FIXEXT_SIZES = [1, 2, 4, 8, 16];

/** Decodes one msgpack value filling the whole frame; throws `MsgpackBoundsError` on anything else. */
export function decodeBoundedMsgpack(
  frame: Uint8Array,
  limits: MsgpackLimits = DEFAULT_MSGPACK_LIMITS,
): unknown {
  const reader = new BoundedReader(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), limits);
  const value = reader.value(0);
  if (reader.offset !== frame.byteLength) {
    throw new MsgpackBoundsError('trailing_bytes', `${frame.byteLength - reader.offset} trailing bytes`);
  }
  return value;
}

/** One pass over one frame; `offset` only moves forward, so decoding is linear in the frame size. */
class BoundedReader {
  offset = 0;
  #values = 0;
  readonly #bytes: Buffer;
  readonly #limits: MsgpackLimits;

  constructor(bytes: Buffer, limits: MsgpackLimits) {
    this.#bytes = bytes;
    this.#limits = limits;
  }

  value(depth: number): unknown {
    this.#count(1);
    const prefix = this.#uint(1);
    if (prefix < 0x80) return prefix;
    if (prefix < 0x90) return this.#map(prefix & 0x0f, depth);
    if (prefix < 0xa0) return this.#array(prefix & 0x0f, depth);
    if (prefix < 0xc0) return this.#str(prefix & 0x1f);
    if (prefix > 0xdf) return prefix - 0x100;
    const sized = LENGTH_PREFIXES.get(prefix);
    if (sized) return this.#sized(sized[0], this.#uint(sized[1]), depth);
    if (prefix >= 0xd4 && prefix <= 0xd8) return this.#fixext(FIXEXT_SIZES[prefix - 0xd4]!);
    return this.#scalar(prefix);
  }

  #scalar(prefix: number): unknown {
    switch (prefix) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        return this.#bytes.readFloatBE(this.#take(4));
      case 0xcb:
        return this.#bytes.readDoubleBE(this.#take(8));
      case 0xcc:
        return this.#uint(1);
      case 0xcd:
        return this.#uint(2);
      case 0xce:
        return this.#uint(4);
      case 0xcf:
        return this.#uint(4) * 2 ** 32 + this.#uint(4);
      case 0xd0:
        return this.#bytes.readInt8(this.#take(1));
      case 0xd1:
        return this.#bytes.readInt16BE(this.#take(2));
      case 0xd2:
        return this.#bytes.readInt32BE(this.#take(4));
      case 0xd3:
        return this.#bytes.readInt32BE(this.#take(4)) * 2 ** 32 + this.#uint(4);
    }
    // Only 0xc1 is left: "never used" in the msgpack spec.
    throw new MsgpackBoundsError('reserved_byte', `reserved byte 0x${prefix.toString(16)}`);
  }

  #sized(kind: Sized, length: number, depth: number): unknown {
    switch (kind) {
      case 'bin':
        return this.#bin(length);
      case 'str':
        return this.#str(length);
      case 'ext':
        return this.#ext(length);
      case 'array':
        return this.#array(length, depth);
      case 'map':
        return this.#map(length, depth);
    }
  }

  #str(length: number): string {
    const start = this.#claim(length);
    return this.#bytes.toString('utf8', start, start + length);
  }

  #bin(length: number): Buffer {
    const start = this.#claim(length);
    return this.#bytes.subarray(start, start + length);
  }

  #ext(length: number): unknown {
    const type = this.#bytes.readInt8(this.#take(1));
    const start = this.#claim(length);
    // Type 0 is how notepack encodes an ArrayBuffer; it decodes to a copy of its own.
    if (type === 0) return Uint8Array.prototype.slice.call(this.#bytes, start, start + length).buffer;
    return [type, this.#bytes.subarray(start, start + length)];
  }

  #fixext(size: number): unknown {
    const type = this.#bytes.readInt8(this.#take(1));
    const start = this.#claim(size);
    // notepack's own extensions: fixext1 type 0 is undefined, fixext8 type 0 a Date in ms.
    if (type === 0 && size === 1) return undefined;
    if (type === 0 && size === 8) {
      return new Date(this.#bytes.readInt32BE(start) * 2 ** 32 + this.#bytes.readUInt32BE(start + 4));
    }
    return [type, this.#bytes.subarray(start, start + size)];
  }

  #array(length: number, depth: number): unknown[] {
    this.#enter(depth, length, 1);
    const items: unknown[] = [];
    for (let i = 0; i < length; i++) items.push(this.value(depth + 1));
    return items;
  }

  #map(length: number, depth: number): Record<string, unknown> {
    this.#enter(depth, length, 2);
    const entries: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const key = this.value(depth + 1);
      // notepack coerces keys with `object[key]`; only strings and numbers do so unambiguously.
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new MsgpackBoundsError(
          'invalid_map_key',
          `map key of type ${key === null ? 'null' : typeof key}`,
        );
      }
      // defineProperty, not assignment: a "__proto__" key stays a plain own property.
      Object.defineProperty(entries, String(key), {
        value: this.value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return entries;
  }

  /** Checks a container before reading it: depth, and `count` items of at least `minBytes` each. */
  #enter(depth: number, count: number, minBytes: number): void {
    if (depth >= this.#limits.maxDepth) {
      throw new MsgpackBoundsError('too_deep', `nesting deeper than ${this.#limits.maxDepth}`);
    }
    if (count * minBytes > this.#bytes.length - this.offset) {
      throw new MsgpackBoundsError('length_exceeds_frame', `${count} items claimed, frame too short`);
    }
    // Each item is at least `minBytes` values (a map entry is a key and a value): reject early.
    if (this.#values + count * minBytes > this.#limits.maxValues) {
      throw new MsgpackBoundsError('too_many_values', `more than ${this.#limits.maxValues} values`);
    }
  }

  #count(values: number): void {
    this.#values += values;
    if (this.#values > this.#limits.maxValues) {
      throw new MsgpackBoundsError('too_many_values', `more than ${this.#limits.maxValues} values`);
    }
  }

  /** Reserves `length` declared bytes; throws unless the frame really holds them. */
  #claim(length: number): number {
    if (length > this.#bytes.length - this.offset) {
      throw new MsgpackBoundsError('length_exceeds_frame', `${length} bytes claimed, frame too short`);
    }
    const start = this.offset;
    this.offset += length;
    return start;
  }

  /** Reserves `size` bytes of a fixed-size field (a length, a number, an ext type). */
  #take(size: number): number {
    if (size > this.#bytes.length - this.offset) {
      throw new MsgpackBoundsError('truncated', `frame ends inside a ${size}-byte field`);
    }
    const start = this.offset;
    this.offset += size;
    return start;
  }

  #uint(size: 1 | 2 | 4): number {
    return this.#bytes.readUIntBE(this.#take(size), size);
  }
}
