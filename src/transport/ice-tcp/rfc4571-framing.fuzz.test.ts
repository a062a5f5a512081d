import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzParser } from '../../../test/fuzz/byte-fuzz.ts';
import { FRAME_HEADER_BYTES, FrameReader, frame } from './rfc4571-framing.ts';

/**
 * Fuzz target: the RFC 4571 reader an ICE-TCP connection feeds with whatever a peer sends. On any
 * byte stream, cut into chunks anywhere, it never throws, holds at most one frame, yields the same
 * frames however the stream is cut, and each frame is exactly what the stream's lengths say.
 */

const DEFAULT_RUNS = 5000;
const seeds = [
  Buffer.concat([frame(Buffer.from([0x00, 0x01, 0x00, 0x00]))!, frame(Buffer.alloc(100, 0x80))!]),
  Buffer.concat([frame(Buffer.from([0x16, 0xfe, 0xfd]))!, Buffer.from([0x00])]),
  Buffer.from([0x00, 0x00]),
  Buffer.from([0xff, 0xff, 0x01]),
];

/** Frames of the whole stream, fed in chunks cut at `cuts` (positions). */
function readAll(
  bytes: Uint8Array,
  cuts: number[],
): { frames: Buffer[]; error: string | undefined; pending: number } {
  const frames: Buffer[] = [];
  const reader = new FrameReader((f) => frames.push(Buffer.from(f)));
  const buf = Buffer.from(bytes);
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    if (cut < at) continue;
    reader.push(buf.subarray(at, cut));
    at = cut;
  }
  return { frames, error: reader.error, pending: reader.pendingBytes };
}

/** The frames the stream's own lengths describe, up to the first zero length. */
function reference(bytes: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + FRAME_HEADER_BYTES <= bytes.length) {
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    if (length === 0 || at + FRAME_HEADER_BYTES + length > bytes.length) break;
    out.push(Buffer.from(bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length)));
    at += FRAME_HEADER_BYTES + length;
  }
  return out;
}

describe('RFC 4571 framing fuzz target', () => {
  it('any byte stream cut anywhere yields the frames its lengths describe, and never throws', () => {
    fuzzParser(
      {
        parse: (bytes) => {
          const whole = readAll(bytes, []);
          const cuts = Array.from({ length: 3 }, (_, i) => Math.floor(((i + 1) * bytes.length) / 4));
          const byteWise = readAll(
            bytes,
            Array.from({ length: bytes.length }, (_, i) => i),
          );
          return { whole, cut: readAll(bytes, cuts), byteWise };
        },
        isCleanError: () => false,
        check(bytes, { whole, cut, byteWise }) {
          assert.deepEqual(whole.frames, reference(bytes));
          assert.deepEqual(cut.frames, whole.frames);
          assert.deepEqual(byteWise.frames, whole.frames);
          assert.equal(cut.error, whole.error);
          assert.ok(whole.pending <= 65_535 + FRAME_HEADER_BYTES, `${whole.pending} bytes held`);
        },
        maxRetainedFactor: 8,
      },
      { seeds, lengthPrefixes: [0x00, 0x01, 0x80, 0xff], defaultRuns: DEFAULT_RUNS },
    );
  });
});
