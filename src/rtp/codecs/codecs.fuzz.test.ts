import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzParser } from '../../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../../test/fuzz/corpus.ts';
import { Vp8Munger } from '../../sfu/qos/vp8-munger.ts';
import { rtpHeaderBytes } from '../rtp-packet.ts';
import { newAv1AggregationHeader, parseAv1, readLeb128 } from './av1.ts';
import { h264NalType, isH264Keyframe } from './h264.ts';
import { keyframeDetector } from './keyframe.ts';
import { newVp8Descriptor, parseVp8, type Vp8Descriptor } from './vp8.ts';
import { newVp9Descriptor, parseVp9, type Vp9Descriptor } from './vp9.ts';

/**
 * Fuzz target: the VP8, VP9, H264 and AV1 payload parsers and keyframe detection, on the payload
 * of RTP packets (as UpTrack reads it: after the header, before the padding) and on raw bytes; and
 * the VP8 munger that rewrites descriptors in place. Parsers return false / -1 on what they cannot
 * read, never throw. `FUZZ_RUNS` raises the number of inputs.
 */

const DEFAULT_RUNS = 3000;

type Region = { offset: number; end: number };
type Parsed = {
  regions: Region[];
  vp8: Array<Vp8Descriptor | undefined>;
  vp9: Array<Vp9Descriptor | undefined>;
};

/** The payload of the bytes read as RTP (when they are), and the whole bytes. */
function regions(bytes: Uint8Array): Region[] {
  const header = rtpHeaderBytes(bytes);
  const out = [{ offset: 0, end: bytes.length }];
  if (header < 0) return out;
  const padding = bytes[0]! & 0x20 ? bytes[bytes.length - 1]! : 0;
  out.push({ offset: header, end: bytes.length - padding });
  return out;
}

function parse(bytes: Uint8Array): Parsed {
  const buf = Buffer.from(bytes);
  const parsed: Parsed = { regions: regions(buf), vp8: [], vp9: [] };
  for (const { offset, end } of parsed.regions) {
    const vp8 = newVp8Descriptor();
    parsed.vp8.push(parseVp8(buf, vp8, offset, end) ? vp8 : undefined);
    const vp9 = newVp9Descriptor();
    parsed.vp9.push(parseVp9(buf, vp9, offset, end) ? vp9 : undefined);
    parseAv1(buf, newAv1AggregationHeader(), offset, end);
    readLeb128(buf, Math.max(0, offset + 1), end);
    h264NalType(buf, offset, end);
    isH264Keyframe(buf, offset, end);
    for (const codec of ['VP8', 'video/vp9', 'H264', 'AV1']) keyframeDetector(codec)?.(buf, offset, end);
  }
  return parsed;
}

function checkVp8(d: Vp8Descriptor, { offset, end }: Region): void {
  assert.ok(d.descriptorBytes >= 1 && offset + d.descriptorBytes <= end, 'VP8 descriptor overruns');
  for (const at of [d.pictureIdOffset, d.tl0PicIdxOffset])
    assert.ok(at === -1 || (at > offset && at < offset + d.descriptorBytes));
}

function checkVp9(d: Vp9Descriptor, { offset, end }: Region): void {
  assert.ok(d.descriptorBytes >= 1 && offset + d.descriptorBytes <= end, 'VP9 descriptor overruns');
  assert.ok(d.referenceCount <= 3 && d.sid <= 7 && d.tid <= 7);
}

/** The munger writes only inside the descriptor it parsed, and as many bytes as it read. */
function checkMunger(bytes: Uint8Array, parsed: Parsed): void {
  const at = parsed.regions.length - 1;
  const region = parsed.regions[at]!;
  const d = parsed.vp8[at];
  const buf = Buffer.from(bytes);
  const munged = new Vp8Munger().munge(buf, region.offset, region.end, { switched: true });
  assert.equal(munged, d !== undefined);
  const limit = d ? region.offset + d.descriptorBytes : 0;
  assert.deepEqual(
    buf.subarray(limit),
    Buffer.from(bytes.subarray(limit)),
    'munger wrote past the descriptor',
  );
  assert.deepEqual(buf.subarray(0, region.offset), Buffer.from(bytes.subarray(0, region.offset)));
}

describe('codec payload fuzz target', () => {
  it('random, mutated and truncated VP8, VP9, H264 and AV1 packets parse within their payload or are refused, and the VP8 munger writes only inside the descriptor', () => {
    fuzzParser(
      {
        parse,
        isCleanError: () => false,
        check(bytes, parsed) {
          parsed.regions.forEach((r, i) => {
            const vp8 = parsed.vp8[i];
            const vp9 = parsed.vp9[i];
            if (vp8) checkVp8(vp8, r);
            if (vp9) checkVp9(vp9, r);
          });
          checkMunger(bytes, parsed);
        },
      },
      { seeds: corpusSeeds('rtp'), defaultRuns: DEFAULT_RUNS },
    );
  });
});
