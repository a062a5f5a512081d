/**
 * RTP header extensions (RFC 8285): find an element by id and rewrite ids in place, in the one-byte
 * (0xBEDE) and two-byte (0x100X) forms. Bounds-checked, allocation-free: a malformed block reads
 * as "not found" and is never written.
 */

const ONE_BYTE_PROFILE = 0xbede;
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;
/** RFC 8285 §4.2: one-byte ids are 1–14; 15 stops processing. */
const ONE_BYTE_MAX_ID = 14;
const ONE_BYTE_STOP_ID = 15;
/** RFC 8285 §4.3: two-byte ids are 1–255. */
const TWO_BYTE_MAX_ID = 255;

const DONE = -1;
const MALFORMED = -2;

/** Where one extension element's value is in the packet (filled by findHeaderExtension). */
export interface ExtensionRange {
  offset: number;
  length: number;
}

interface Block {
  start: number;
  end: number;
  twoByte: boolean;
}

interface Element {
  id: number;
  headerAt: number;
  valueAt: number;
  length: number;
}

const BLOCK: Block = { start: 0, end: 0, twoByte: false };
const EL: Element = { id: 0, headerAt: 0, valueAt: 0, length: 0 };

/** Locates the extension block of an RTP packet in BLOCK; false when absent, unknown or truncated. */
function locateBlock(buf: Uint8Array): boolean {
  if (buf.length < 16 || buf[0]! >> 6 !== 2 || (buf[0]! & 0x10) === 0) return false;
  const at = 12 + (buf[0]! & 0x0f) * 4;
  if (buf.length < at + 4) return false;
  const profile = (buf[at]! << 8) | buf[at + 1]!;
  const end = at + 4 + ((buf[at + 2]! << 8) | buf[at + 3]!) * 4;
  if (end > buf.length) return false;
  const twoByte = (profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE;
  if (profile !== ONE_BYTE_PROFILE && !twoByte) return false;
  BLOCK.start = at + 4;
  BLOCK.end = end;
  BLOCK.twoByte = twoByte;
  return true;
}

/**
 * Reads the element at `i` (skipping padding bytes) into EL; returns the index after it, DONE at
 * the end of the block (or at one-byte id 15), MALFORMED when an element overruns the block.
 */
function nextElement(buf: Uint8Array, i: number, end: number, twoByte: boolean): number {
  // Padding bytes; in the one-byte form a header with id 0 is padding whatever its length nibble
  // (as libwebrtc reads it).
  while (i < end && (twoByte ? buf[i] === 0 : buf[i]! >> 4 === 0)) i++;
  if (i >= end) return DONE;
  const first = buf[i]!;
  if (twoByte) {
    if (i + 2 > end) return MALFORMED;
    EL.id = first;
    EL.length = buf[i + 1]!;
    EL.valueAt = i + 2;
  } else {
    EL.id = first >> 4;
    if (EL.id === ONE_BYTE_STOP_ID) return DONE;
    EL.length = (first & 0x0f) + 1;
    EL.valueAt = i + 1;
  }
  EL.headerAt = i;
  const after = EL.valueAt + EL.length;
  return after <= end ? after : MALFORMED;
}

/** Finds extension `id`; fills `out` and returns true, or false when absent or malformed. */
export function findHeaderExtension(buf: Uint8Array, id: number, out: ExtensionRange): boolean {
  if (id <= 0 || !locateBlock(buf)) return false;
  const { end, twoByte } = BLOCK;
  for (let i = BLOCK.start; ; ) {
    i = nextElement(buf, i, end, twoByte);
    if (i < 0) return false;
    if (EL.id === id) {
      out.offset = EL.valueAt;
      out.length = EL.length;
      return true;
    }
  }
}

const RANGE: ExtensionRange = { offset: 0, length: 0 };

/** The value of extension `id` as a view into `buf`, or undefined when absent or malformed. */
export function headerExtension(buf: Buffer, id: number): Buffer | undefined {
  return findHeaderExtension(buf, id, RANGE)
    ? buf.subarray(RANGE.offset, RANGE.offset + RANGE.length)
    : undefined;
}

/** Whether the packet's extension block uses the two-byte form; undefined without a valid block. */
export function isTwoByteExtensionBlock(buf: Uint8Array): boolean | undefined {
  return locateBlock(buf) ? BLOCK.twoByte : undefined;
}

function fitsForm(id: number, twoByte: boolean): boolean {
  return id >= 1 && id <= (twoByte ? TWO_BYTE_MAX_ID : ONE_BYTE_MAX_ID);
}

function writeId(buf: Uint8Array, headerAt: number, id: number, twoByte: boolean): void {
  buf[headerAt] = twoByte ? id : (id << 4) | (buf[headerAt]! & 0x0f);
}

/**
 * Changes the id of extension `fromId` to `toId` in place (per-subscriber id mapping). False, and
 * nothing written, when the extension is absent, the block malformed or `toId` does not fit the form.
 */
export function rewriteHeaderExtensionId(buf: Uint8Array, fromId: number, toId: number): boolean {
  if (fromId <= 0 || !locateBlock(buf) || !fitsForm(toId, BLOCK.twoByte)) return false;
  const { end, twoByte } = BLOCK;
  for (let i = BLOCK.start; ; ) {
    i = nextElement(buf, i, end, twoByte);
    if (i < 0) return false;
    if (EL.id === fromId) {
      writeId(buf, EL.headerAt, toId, twoByte);
      return true;
    }
  }
}

/**
 * Rewrites every element's id through `idMap` (256 entries: new id, or 0 to blank the element into
 * padding bytes, which RFC 8285 §4.1.1 lets receivers skip) in one pass, so mappings never chain.
 * Validates first: false, and nothing written, when the block is malformed or a new id does not
 * fit the form. A packet without an extension block is left alone and passes.
 */
export function remapHeaderExtensionIds(buf: Uint8Array, idMap: Uint8Array): boolean {
  if (buf.length >= 1 && (buf[0]! & 0x10) === 0) return true;
  if (!locateBlock(buf)) return false;
  const { start, end, twoByte } = BLOCK;
  for (let i = start; ; ) {
    i = nextElement(buf, i, end, twoByte);
    if (i === MALFORMED) return false;
    if (i === DONE) break;
    const to = idMap[EL.id] ?? 0;
    if (to !== 0 && !fitsForm(to, twoByte)) return false;
  }
  for (let i = start; ; ) {
    i = nextElement(buf, i, end, twoByte);
    if (i < 0) return true;
    const to = idMap[EL.id] ?? 0;
    if (to === 0) buf.fill(0, EL.headerAt, i);
    else writeId(buf, EL.headerAt, to, twoByte);
  }
}
