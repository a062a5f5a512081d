import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzParser } from '../../test/fuzz/byte-fuzz.ts';
import { corpusSeeds } from '../../test/fuzz/corpus.ts';
import {
  buildRemb,
  feedbackMediaSsrc,
  forEachRtcp,
  nackSequenceNumbers,
  parseBye,
  parseFir,
  parseReceiverReport,
  parseRemb,
  parseSdes,
  parseSenderReport,
  parseTwcc,
  type RtcpHeaderView,
  rtcpSenderSsrc,
  twccReceiveTimesUs,
  writeBye,
  writeFir,
} from './rtcp.ts';

/**
 * Fuzz target: compound RTCP and every type we read (SR, RR, SDES, BYE, NACK, PLI, FIR, REMB,
 * transport-cc). Each parser runs on every packet of the compound, whatever its type: a parser
 * returns undefined (or nothing) for what is not its own, never throws. `FUZZ_RUNS` raises the
 * number of inputs.
 */

const DEFAULT_RUNS = 3000;

type Parsed = { packets: RtcpHeaderView[]; results: unknown[] };

function parse(bytes: Uint8Array): Parsed {
  const buf = Buffer.from(bytes);
  const packets: RtcpHeaderView[] = [];
  const results: unknown[] = [];
  forEachRtcp(buf, (p) => {
    packets.push(p);
    const twcc = parseTwcc(buf, p);
    if (twcc) twccReceiveTimesUs(twcc);
    results.push(
      parseSenderReport(buf, p),
      parseReceiverReport(buf, p),
      parseSdes(buf, p),
      parseBye(buf, p),
      parseRemb(buf, p),
      twcc,
      nackSequenceNumbers(buf, p),
      parseFir(buf, p),
      rtcpSenderSsrc(buf, p),
      feedbackMediaSsrc(buf, p),
    );
  });
  return { packets, results };
}

/** Packets tile the buffer in order, each within it. */
function checkPackets(bytes: Uint8Array, { packets }: Parsed): void {
  let next = 0;
  for (const p of packets) {
    assert.equal(p.offset, next);
    assert.ok(p.bytes >= 4 && p.offset + p.bytes <= bytes.length);
    assert.ok((p.contentBytes ?? p.bytes) <= p.bytes && (p.contentBytes ?? p.bytes) >= 4);
    next = p.offset + p.bytes;
  }
}

/** Real compounds (the capture has no REMB, FIR or BYE) written by our own writers. */
function writtenSeeds(): Uint8Array[] {
  const fir = Buffer.alloc(28);
  writeFir(fir, 0, 1, [
    { ssrc: 2, seqNr: 3 },
    { ssrc: 4, seqNr: 5 },
  ]);
  const bye = Buffer.alloc(20);
  writeBye(bye, 0, [0x1234, 0x5678], 'left');
  return [buildRemb(1, 1_500_000, [2, 3]), fir, bye];
}

/** A compound of feedback messages with random FMT, type and FCI (REMB, TWCC and NACK shapes). */
const structuredFeedback = fc
  .array(
    fc.record({
      type: fc.constantFrom(200, 201, 202, 203, 205, 206),
      count: fc.constantFrom(0, 1, 4, 15, 31),
      fci: fc.oneof(
        fc.uint8Array({ maxLength: 48 }),
        fc
          .tuple(fc.nat(255), fc.uint8Array({ minLength: 3, maxLength: 3 }))
          .map(([n, m]) => Uint8Array.from([0x52, 0x45, 0x4d, 0x42, n, ...m])),
      ),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((packets) => {
    const parts = packets.map(({ type, count, fci }) => {
      const words = Math.ceil(fci.length / 4);
      const out = Buffer.alloc(12 + 4 * words);
      out[0] = 0x80 | count;
      out[1] = type;
      out.writeUInt16BE(2 + words, 2);
      out.set(fci, 12);
      return out;
    });
    return new Uint8Array(Buffer.concat(parts));
  });

describe('RTCP fuzz target', () => {
  it('random, mutated and truncated compounds tile the buffer, and every parser on every packet returns a value or undefined without throwing', () => {
    fuzzParser(
      {
        parse,
        isCleanError: () => false,
        check: checkPackets,
        // A transport-cc feedback of 24 bytes may report TWCC_MAX_READ_STATUS_COUNT packets, read
        // into 5 bytes each (a status and a delta): ~1700 times its size, bounded.
        maxRetainedFactor: 2048,
      },
      {
        seeds: [...corpusSeeds('rtcp'), ...writtenSeeds()],
        defaultRuns: DEFAULT_RUNS,
        structured: [structuredFeedback],
      },
    );
  });
});
