import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rtpPayloadOffset } from '../../../../src/rtp/rtp-packet.ts';
import { fuzzParser } from '../../../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../../../test/fuzz/corpus.ts';
import { parseAv1SequenceHeader } from './av1-obu.ts';
import { Av1Depacketizer } from './depacketize-av1.ts';
import { H264Depacketizer, h264SpsSize } from './depacketize-h264.ts';
import { OpusDepacketizer } from './depacketize-opus.ts';
import { Vp8Depacketizer } from './depacketize-vp8.ts';
import { parseVp9KeyframeSize, Vp9Depacketizer } from './depacketize-vp9.ts';
import type { CodedFrame, Depacketizer } from './depacketizer.ts';
import { parseVp9FrameSize, vp9SuperframeFrames } from './vp9-bitstream.ts';

/**
 * Fuzz targets: each depacketizer fed the input cut into up to four packets (the first byte says
 * where, the second which are marked and where a loss falls), so fragments, aggregates and frame
 * ends meet in any order; and the bitstream header readers (SPS, VP9 frame headers and superframe index, AV1
 * sequence header). None may throw; malformed input drops frames. `FUZZ_RUNS` raises the runs.
 */

const DEFAULT_RUNS = 2000;

/** The payloads of the Chromium captures of one codec (their RTP headers stripped). */
function payloadSeeds(prefix: string): Uint8Array[] {
  return corpusSeeds('rtp', prefix).map((bytes) => bytes.subarray(Math.max(0, rtpPayloadOffset(bytes))));
}

function feed(create: () => Depacketizer, bytes: Uint8Array): CodedFrame[] {
  const d = create();
  const buf = Buffer.from(bytes);
  const cut = buf.length > 2 ? 2 + (buf[0]! % Math.max(1, buf.length - 2)) : buf.length;
  const flags = buf[1] ?? 0;
  const parts = [buf.subarray(0, cut), buf.subarray(cut, cut + (buf.length - cut) / 2), buf.subarray(cut)];
  const frames: CodedFrame[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (flags & (0x10 << i)) d.lost();
    frames.push(
      ...d.push({ payload: parts[i]!, timestamp: flags & 0x80 ? i : 0, marker: (flags & (1 << i)) !== 0 }),
    );
  }
  for (const frame of frames) assert.ok(frame.data.length > 0);
  return frames;
}

const targets: Array<[string, () => Depacketizer, string]> = [
  ['H264', () => new H264Depacketizer(), 'h264'],
  ['VP8', () => new Vp8Depacketizer(), 'vp8'],
  ['VP9', () => new Vp9Depacketizer(), 'vp9'],
  ['VP9 SVC up to spatial layer 1', () => new Vp9Depacketizer({ maxSpatialLayer: 1 }), 'vp9'],
  ['AV1', () => new Av1Depacketizer(), 'av1'],
  ['Opus', () => new OpusDepacketizer(), 'vp8-simulcast-02'],
];

describe('depacketizers (fuzz)', () => {
  for (const [name, create, prefix] of targets)
    it(`${name}: never throws, frames are bounded by the input`, () => {
      fuzzParser(
        { parse: (bytes) => feed(create, bytes), isCleanError: () => false, maxRetainedFactor: 4 },
        { seeds: payloadSeeds(prefix), defaultRuns: DEFAULT_RUNS },
      );
    });

  it('bitstream headers: SPS, VP9 frame headers and superframe index, AV1 sequence header never throw', () => {
    fuzzParser(
      {
        parse: (bytes) => [
          h264SpsSize(Buffer.from(bytes)),
          parseVp9KeyframeSize(bytes),
          parseVp9FrameSize(bytes),
          vp9SuperframeFrames(Buffer.from(bytes)).length,
          parseAv1SequenceHeader(bytes),
        ],
        isCleanError: () => false,
      },
      {
        seeds: [...payloadSeeds('h264'), ...payloadSeeds('vp9'), ...payloadSeeds('av1')],
        defaultRuns: DEFAULT_RUNS,
      },
    );
  });
});
