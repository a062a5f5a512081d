/**
 * EBML (RFC 8794) elements for the WebM writer: ids, variable-size integers and the element
 * kinds Matroska uses (unsigned, float, string, binary, master).
 */

/** The 8-byte "unknown" size (all value bits set): a master element still being written. */
export const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const MAX_VINT_BYTES = 8;

/** An element id as written (ids keep their length marker bits: 0x1A45DFA3 is 4 bytes). */
export function idBytes(id: number): Buffer {
  const n = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const out = Buffer.alloc(n);
  out.writeUIntBE(id, 0, n);
  return out;
}

/** A size as an EBML variable-size integer, in `width` bytes (the smallest that fits by default). */
export function vint(value: number, width = 0): Buffer {
  let n = 1;
  // Why: in n bytes the value may use 7n bits, less the all-ones pattern that means "unknown".
  while (n < MAX_VINT_BYTES && value >= 2 ** (7 * n) - 1) n++;
  if (width > 0) {
    if (width < n) throw new RangeError(`size ${value} does not fit in ${width} bytes`);
    n = width;
  }
  const out = Buffer.alloc(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0x80 >> (n - 1);
  return out;
}

export function element(id: number, payload: Buffer): Buffer {
  return Buffer.concat([idBytes(id), vint(payload.length), payload]);
}

export function master(id: number, children: Buffer[]): Buffer {
  return element(id, Buffer.concat(children));
}

export function uint(id: number, value: number): Buffer {
  let n = 1;
  while (n < 8 && value >= 2 ** (8 * n)) n++;
  const payload = Buffer.alloc(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    payload[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return element(id, payload);
}

export function float(id: number, value: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeDoubleBE(value);
  return element(id, payload);
}

export function string(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/** A Void element of exactly `bytes` bytes (at least 2): room kept for a later patch. */
export function voidElement(bytes: number): Buffer {
  if (bytes < 2) throw new RangeError('a Void element takes at least 2 bytes');
  const sizeBytes = bytes - 1 > 0x7f ? 8 : 1;
  const out = Buffer.alloc(bytes);
  out[0] = 0xec;
  vint(bytes - 1 - sizeBytes, sizeBytes).copy(out, 1);
  return out;
}
