import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzParser } from '../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../test/fuzz/corpus.ts';
import { findHeaderExtension, remapHeaderExtensionIds, rewriteHeaderExtensionId } from './rtp-extensions.ts';
import {
  classifyPacket,
  getRtpCsrcCount,
  getRtpPayloadType,
  getRtpSeq,
  getRtpSsrc,
  getRtpTimestamp,
  newRtpLayout,
  type RtpLayout,
  readRtpLayout,
  rtpHeaderBytes,
  rtpPayloadBytes,
} from './rtp-packet.ts';

/**
 * Fuzz target: RTP packets (header, CSRCs, padding) and their header extensions (RFC 8285 one- and
 * two-byte forms: find, rewrite and remap ids). The readers never throw: they return -1, false or
 * "not found". `FUZZ_RUNS` raises the number of inputs.
 */

const DEFAULT_RUNS = 4000;
/** Ids 1–14 move to 15 − id (an injective map), except 7, which is blanked into padding. */
const ID_MAP = Uint8Array.from({ length: 256 }, (_, id) => (id >= 1 && id <= 14 && id !== 7 ? 15 - id : 0));

interface Parsed {
  headerBytes: number;
  layout: RtpLayout | undefined;
  extensions: Array<{ id: number; offset: number; length: number }>;
}

function parse(bytes: Uint8Array): Parsed {
  const buf = Buffer.from(bytes);
  const layout = newRtpLayout();
  const valid = readRtpLayout(buf, layout);
  for (const get of [getRtpPayloadType, getRtpSeq, getRtpTimestamp, getRtpSsrc, getRtpCsrcCount]) get(buf);
  classifyPacket(buf);
  rtpPayloadBytes(buf);
  const extensions: Parsed['extensions'] = [];
  const range = { offset: 0, length: 0 };
  for (let id = 1; id <= 255; id++)
    if (findHeaderExtension(buf, id, range)) extensions.push({ id, ...range });
  return { headerBytes: rtpHeaderBytes(buf), layout: valid ? layout : undefined, extensions };
}

function checkLayout(bytes: Uint8Array, { headerBytes, layout }: Parsed): void {
  assert.ok(headerBytes >= -1 && headerBytes <= bytes.length);
  if (!layout) return;
  assert.equal(layout.headerBytes, headerBytes);
  assert.equal(layout.headerBytes + layout.payloadBytes + layout.paddingBytes, bytes.length);
  assert.ok(layout.payloadBytes >= 0 && layout.paddingBytes >= 0);
  if (layout.extensionOffset >= 0) assert.equal(layout.extensionOffset + layout.extensionBytes, headerBytes);
}

/** Offset of the extension data (after its 4-byte header) of a packet with a valid header, or -1. */
function extensionStart(bytes: Uint8Array, headerBytes: number): number {
  return headerBytes > 0 && bytes[0]! & 0x10 ? 12 + (bytes[0]! & 0x0f) * 4 + 4 : -1;
}

/** Every element found lies inside the extension block; remapping moves exactly those ids. */
function checkExtensions(bytes: Uint8Array, parsed: Parsed): void {
  const blockStart = extensionStart(bytes, parsed.headerBytes);
  for (const e of parsed.extensions) {
    assert.ok(blockStart > 0 && e.offset >= blockStart, 'element outside the block');
    assert.ok(e.offset + e.length <= parsed.headerBytes, 'element overruns the block');
  }
  checkRemap(bytes, parsed);
  const rewritten = Buffer.from(bytes);
  const first = parsed.extensions[0];
  const ok = rewriteHeaderExtensionId(rewritten, first?.id ?? 1, 3);
  if (!ok) assert.deepEqual(rewritten, Buffer.from(bytes), 'a refused rewrite wrote');
}

function checkRemap(bytes: Uint8Array, parsed: Parsed): void {
  const remapped = Buffer.from(bytes);
  if (!remapHeaderExtensionIds(remapped, ID_MAP)) {
    assert.deepEqual(remapped, Buffer.from(bytes), 'a refused remap wrote');
    return;
  }
  const blockStart = extensionStart(bytes, parsed.headerBytes);
  const start = blockStart > 0 ? blockStart : bytes.length;
  const end = blockStart > 0 ? parsed.headerBytes : bytes.length;
  assert.deepEqual(remapped.subarray(0, start), Buffer.from(bytes.subarray(0, start)));
  assert.deepEqual(remapped.subarray(end), Buffer.from(bytes.subarray(end)), 'payload changed');
  const range = { offset: 0, length: 0 };
  for (const e of parsed.extensions) {
    // Only the first element of an id is found; a later duplicate may not be it after the remap.
    if (parsed.extensions.some((o) => o !== e && ID_MAP[o.id] === ID_MAP[e.id]) || e.id > 14) continue;
    if (ID_MAP[e.id] === 0) continue;
    assert.ok(findHeaderExtension(remapped, ID_MAP[e.id]!, range), `id ${e.id} lost in the remap`);
    assert.deepEqual(range, { offset: e.offset, length: e.length });
  }
}

/** A version-2 packet with CSRCs and an extension block of random elements (one- or two-byte form). */
const structuredRtp = fc
  .record({
    csrcs: fc.nat(15),
    twoByte: fc.boolean(),
    elements: fc.array(fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 20 })), { maxLength: 8 }),
    payload: fc.uint8Array({ maxLength: 64 }),
    padding: fc.nat(8),
  })
  .map(({ csrcs, twoByte, elements, payload, padding }) => {
    const ext: number[] = [];
    for (const [id, value] of elements) {
      if (twoByte) ext.push(id, value.length, ...value);
      else ext.push(((id & 0x0f) << 4) | ((Math.max(1, value.length) - 1) & 0x0f), ...value.subarray(0, 16));
    }
    while (ext.length % 4 !== 0) ext.push(0);
    const header = Buffer.alloc(12 + 4 * csrcs + 4);
    header[0] = 0x90 | (padding > 0 ? 0x20 : 0) | csrcs;
    header[1] = 96;
    header.writeUInt16BE(twoByte ? 0x1000 : 0xbede, 12 + 4 * csrcs);
    header.writeUInt16BE(ext.length / 4, 14 + 4 * csrcs);
    const pad = padding > 0 ? [...new Array<number>(padding - 1).fill(0), padding] : [];
    return new Uint8Array(Buffer.concat([header, Buffer.from(ext), payload, Buffer.from(pad)]));
  });

describe('RTP packet fuzz target', () => {
  it('random, mutated and truncated RTP packets give a consistent layout and extension elements inside their block, and a refused rewrite writes nothing', () => {
    fuzzParser(
      {
        parse,
        isCleanError: () => false,
        check(bytes, parsed) {
          checkLayout(bytes, parsed);
          checkExtensions(bytes, parsed);
        },
      },
      { seeds: corpusSeeds('rtp'), defaultRuns: DEFAULT_RUNS, structured: [structuredRtp] },
    );
  });
});
