import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// werift's RTCP codec is an independent oracle.
import werift from 'werift-dtls/lib/rtp/src/index.js';
import {
  parseTwcc,
  type RtcpHeaderView,
  RtcpIterator,
  TwccStatus,
  twccReceiveTimesUs,
  writeTwcc,
} from './rtcp.ts';

function only(buf: Buffer): RtcpHeaderView {
  const it = new RtcpIterator(buf);
  assert.equal(it.next(), true);
  const p = {
    type: it.type,
    count: it.count,
    offset: it.offset,
    bytes: it.bytes,
    contentBytes: it.contentBytes,
  };
  assert.equal(it.next(), false);
  assert.equal(it.malformed, false);
  return p;
}

const parse = (buf: Buffer) => parseTwcc(buf, only(buf));

/** A feedback header (count 0 at byte 14) followed by `chunks` and `tail` (deltas, padding). */
function feedback(count: number, chunks: number[], tail: number[]): Buffer {
  const body = [...chunks.flatMap((c) => [c >> 8, c & 0xff]), ...tail];
  const bytes = 20 + Math.ceil(body.length / 4) * 4;
  const b = Buffer.alloc(bytes);
  b[0] = 0x8f;
  b[1] = 205;
  b.writeUInt16BE(bytes / 4 - 1, 2);
  b.writeUInt16BE(100, 12);
  b.writeUInt16BE(count, 14);
  Buffer.from(body).copy(b, 20);
  return b;
}

describe('transport-wide CC feedback', () => {
  it('parses captured feedback: one run-length chunk, a small delta, 1 byte of padding (P bit)', () => {
    const fb = parse(
      Buffer.from('afcd0005' + 'fa17fa17' + '43032fa0' + '00990001' + '3de80217' + '20019401', 'hex'),
    );
    assert.ok(fb);
    assert.equal(fb.senderSsrc, 0xfa17fa17);
    assert.equal(fb.mediaSsrc, 0x43032fa0);
    assert.equal(fb.baseSeq, 153);
    assert.equal(fb.packetStatusCount, 1);
    assert.equal(fb.referenceTime, 4_057_090);
    assert.equal(fb.feedbackPacketCount, 23);
    assert.deepEqual([...fb.statuses], [TwccStatus.SmallDelta]);
    assert.deepEqual([...fb.deltasUs], [37_000]);
  });

  it('parses captured feedback: a run of 7 small deltas, 3 bytes of padding', () => {
    const fb = parse(
      Buffer.from(
        'afcd0007fa17fa17193dd8bb00040007' + '10636e01' + '20074c24' + '24100c0c' + '10000003',
        'hex',
      ),
    );
    assert.ok(fb);
    assert.equal(fb.baseSeq, 4);
    assert.equal(fb.referenceTime, 1_074_030);
    assert.deepEqual([...fb.deltasUs], [19_000, 9_000, 9_000, 4_000, 3_000, 3_000, 4_000]);
    const times = twccReceiveTimesUs(fb);
    assert.equal(times[6], 1_074_030 * 64_000 + 51_000);
  });

  it('decodes the draft §3.1.3–3.1.4 chunk examples, truncated to the packet status count', () => {
    const run = parse(feedback(221, [0x00dd], []))!;
    assert.ok(run.statuses.every((s) => s === TwccStatus.NotReceived));
    const oneBit = parse(feedback(14, [0x9f1c], [1, 2, 3, 4, 5, 6, 7, 8]))!;
    assert.deepEqual([...oneBit.statuses], [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
    assert.deepEqual(
      [...oneBit.deltasUs].filter((d) => d),
      [250, 500, 750, 1000, 1250, 1500, 1750, 2000],
    );
    const twoBit = parse(feedback(3, [0xe400], [0x80, 0x00, 9]))!;
    assert.deepEqual(
      [...twoBit.statuses],
      [TwccStatus.LargeDelta, TwccStatus.SmallDelta, TwccStatus.NotReceived],
    );
    assert.deepEqual([...twoBit.deltasUs], [-8_192_000, 2_250, 0]);
  });

  it('refuses reserved symbols, missing chunks or deltas, empty feedback, other packets', () => {
    assert.equal(parse(feedback(24, [0x6018], [])), undefined, 'run of reserved symbol 3');
    assert.equal(parse(feedback(7, [0xcd50], [1, 1, 1, 1])), undefined, '2-bit vector with symbol 3');
    assert.equal(parse(feedback(20, [0x2005], [1, 1, 1, 1, 1])), undefined, 'statuses run out of chunks');
    assert.equal(parse(feedback(5, [0x2005], [1, 1])), undefined, 'deltas run out');
    assert.equal(parse(feedback(0, [], [])), undefined);
    const nack = feedback(1, [0x2001], [1]);
    nack[0] = 0x81;
    assert.equal(parse(nack), undefined);
  });

  it('writes feedback that parses back to the same arrivals, and werift reads the same', () => {
    const base = 1_000_000_000;
    const arrivals: Array<number | undefined> = [];
    for (let i = 0; i < 300; i++) {
      if (i % 17 === 5 || (i > 100 && i < 130)) arrivals.push(undefined);
      else if (i === 60)
        arrivals.push(base + i * 5000 - 20_000); // arrived before its predecessor
      else if (i === 200)
        arrivals.push(base + i * 5000 + 150_000); // late: a large delta
      else arrivals.push(base + i * 5000 + (i % 3) * 250);
    }
    const out = Buffer.alloc(1500);
    const n = writeTwcc(out, 0, {
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSeq: 65_500,
      feedbackPacketCount: 9,
      arrivalsUs: arrivals,
    });
    assert.ok(n > 0 && n % 4 === 0);
    const packet = out.subarray(0, n);
    const fb = parse(packet)!;
    assert.equal(fb.baseSeq, 65_500);
    assert.equal(fb.packetStatusCount, 300);
    assert.equal(fb.feedbackPacketCount, 9);
    const times = twccReceiveTimesUs(fb);
    for (const [i, t] of arrivals.entries()) {
      if (t === undefined) assert.ok(Number.isNaN(times[i]), `lost ${i}`);
      else assert.ok(Math.abs(times[i]! - t) <= 125, `seq ${i}: ${times[i]} vs ${t}`);
    }
    const [theirs] = werift.RtcpPacketConverter.deSerialize(packet);
    assert.ok(theirs instanceof werift.RtcpTransportLayerFeedback);
    assert.ok(theirs.feedback instanceof werift.TransportWideCC);
    // werift's packetResults stops at status vectors; compare its decoded chunks and deltas instead.
    const statuses = theirs.feedback.packetChunks.flatMap((c) =>
      c instanceof werift.RunLengthChunk ? new Array<number>(c.runLength).fill(c.packetStatus) : c.symbolList,
    );
    assert.deepEqual(statuses.slice(0, 300), [...fb.statuses]);
    assert.deepEqual(
      theirs.feedback.recvDeltas.map((d) => d.delta),
      [...fb.deltasUs].filter((_, i) => fb.statuses[i] !== TwccStatus.NotReceived),
    );
  });

  it('refuses to write what it cannot encode', () => {
    const out = Buffer.alloc(200);
    const input = { senderSsrc: 1, mediaSsrc: 2, baseSeq: 0, feedbackPacketCount: 0 };
    assert.equal(writeTwcc(out, 0, { ...input, arrivalsUs: [] }), -1);
    assert.equal(writeTwcc(out, 0, { ...input, arrivalsUs: [undefined, undefined] }), -1, 'nothing arrived');
    assert.equal(
      writeTwcc(out, 0, { ...input, arrivalsUs: [0, 9_000_000] }),
      -1,
      'delta over 16 bits of ticks',
    );
    assert.equal(writeTwcc(Buffer.alloc(20), 0, { ...input, arrivalsUs: [0, 1000] }), -1, 'does not fit');
  });
});

/** A transport-cc feedback of `count` packets, all lost, in run-length chunks of 8191. */
function lostRun(count: number): Buffer {
  const chunks = Math.ceil(count / 8191);
  const out = Buffer.alloc(20 + 2 * chunks + ((2 * chunks) % 4));
  out[0] = 0x80 | 15;
  out[1] = 205;
  out.writeUInt16BE(out.length / 4 - 1, 2);
  out.writeUInt16BE(count, 14);
  for (let i = 0, left = count; i < chunks; i++, left -= 8191)
    out.writeUInt16BE(Math.min(8191, left), 20 + 2 * i);
  return out;
}

describe('transport-cc amplification', () => {
  it('parseTwcc rejects a 40-byte feedback claiming 65535 lost packets (unbounded allocation found by the RTCP fuzz target)', () => {
    const packet = lostRun(0xffff);
    assert.equal(packet.length, 40);
    assert.equal(parse(packet)?.packetStatusCount, undefined);
  });

  it('parseTwcc still reads a feedback of 8192 packets, what the send-side history can match', () => {
    const feedback = parse(lostRun(8192));
    assert.equal(feedback?.packetStatusCount, 8192);
    assert.ok(feedback.statuses.every((s) => s === TwccStatus.NotReceived));
  });
});
