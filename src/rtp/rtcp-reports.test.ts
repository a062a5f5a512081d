import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// werift's RTCP codec is an independent oracle.
import werift from 'werift-dtls/lib/rtp/src/index.js';
import {
  buildEmptyReceiverReport,
  buildSenderReport,
  compactNtp,
  forEachRtcp,
  ntpFromUnixMs,
  ntpToUnixMs,
  parseBye,
  parseReceiverReport,
  parseSdes,
  parseSenderReport,
  type ReportBlock,
  type RtcpHeaderView,
  RtcpIterator,
  type SenderReport,
  writeBye,
  writeReceiverReport,
  writeSdesCname,
  writeSenderReport,
} from './rtcp.ts';

const BLOCKS: ReportBlock[] = [
  {
    ssrc: 0x11111111,
    fractionLost: 25,
    cumulativeLost: 1000,
    highestSeq: 0x0001fffe,
    jitter: 42,
    lastSr: 0xaabbccdd,
    delaySinceLastSr: 65536,
  },
  { ssrc: 2, fractionLost: 0, cumulativeLost: -3, highestSeq: 7, jitter: 0, lastSr: 0, delaySinceLastSr: 0 },
];

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

describe('rtcp reports', () => {
  it('SR with report blocks: write, parse back, and werift reads the same', () => {
    const sr: SenderReport = {
      ssrc: 0xcafe,
      ...{ ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000 },
      rtpTimestamp: 123_456,
      packetCount: 10,
      octetCount: 12_000,
      reports: BLOCKS,
    };
    const out = Buffer.alloc(200);
    const n = writeSenderReport(out, 4, sr);
    assert.equal(n, 28 + 2 * 24);
    const packet = out.subarray(4, 4 + n);
    assert.deepEqual(parseSenderReport(packet, only(packet)), sr);
    const [theirs] = werift.RtcpPacketConverter.deSerialize(packet);
    assert.ok(theirs instanceof werift.RtcpSrPacket);
    assert.equal(theirs.senderInfo.rtpTimestamp, 123_456);
    assert.equal(theirs.reports[0]!.highestSequence, 0x0001fffe);
    assert.equal(theirs.reports[0]!.packetsLost, 1000);
    assert.equal(writeSenderReport(Buffer.alloc(50), 0, sr), -1, 'does not fit');
  });

  it('RR: write and parse back, negative cumulative loss included; the empty RR', () => {
    const out = Buffer.alloc(8 + 48);
    assert.equal(writeReceiverReport(out, 0, { ssrc: 9, reports: BLOCKS }), 56);
    assert.deepEqual(parseReceiverReport(out, only(out)), { ssrc: 9, reports: BLOCKS });
    const empty = buildEmptyReceiverReport(5);
    assert.deepEqual(parseReceiverReport(empty, only(empty)), { ssrc: 5, reports: [] });
    const lying = Buffer.from(out);
    lying[0] = 0x83;
    assert.equal(parseReceiverReport(lying, only(lying)), undefined, 'count says 3 blocks, room for 2');
  });

  it('NTP time: Unix ms round trip and the compact (LSR) form', () => {
    const ms = 1_700_000_000_123;
    const { seconds, fraction } = ntpFromUnixMs(ms);
    assert.ok(Math.abs(ntpToUnixMs(seconds, fraction) - ms) < 0.001);
    assert.equal(compactNtp(0x12345678, 0x9abcdef0), 0x56789abc);
    const sr = buildSenderReport(1, ms, 90_000, 3, 4);
    const parsed = parseSenderReport(sr, only(sr))!;
    assert.equal(parsed.ntpSeconds, seconds);
    assert.equal(parsed.rtpTimestamp, 90_000);
  });

  it('SDES CNAME: write, parse back, werift reads it; alignment of every length', () => {
    for (const cname of ['', 'a', 'ab', 'abc', 'abcd', '{0d9a2c1e-77}']) {
      const out = Buffer.alloc(300);
      const n = writeSdesCname(out, 0, 0xbeef, cname);
      assert.equal(n % 4, 0);
      const packet = out.subarray(0, n);
      assert.deepEqual(parseSdes(packet, only(packet)), [{ ssrc: 0xbeef, cname }]);
      if (cname) {
        const [theirs] = werift.RtcpPacketConverter.deSerialize(packet);
        assert.ok(theirs instanceof werift.RtcpSourceDescriptionPacket);
        assert.equal(theirs.chunks[0]!.items[0]!.text, cname);
      }
    }
    assert.equal(writeSdesCname(Buffer.alloc(400), 0, 1, 'x'.repeat(256)), -1);
  });

  it('SDES with two chunks and other items; werift-built SDES parses', () => {
    const theirs = new werift.RtcpSourceDescriptionPacket({
      chunks: [
        new werift.SourceDescriptionChunk({
          source: 7,
          items: [
            new werift.SourceDescriptionItem({ type: 2, text: 'name' }),
            new werift.SourceDescriptionItem({ type: 1, text: 'cname-7' }),
          ],
        }),
        new werift.SourceDescriptionChunk({
          source: 8,
          items: [new werift.SourceDescriptionItem({ type: 1, text: 'c8' })],
        }),
      ],
    }).serialize();
    assert.deepEqual(parseSdes(theirs, only(theirs)), [
      { ssrc: 7, cname: 'cname-7' },
      { ssrc: 8, cname: 'c8' },
    ]);
  });

  it('BYE with and without a reason; truncated reports parse as undefined', () => {
    const out = Buffer.alloc(64);
    const n = writeBye(out, 0, [1, 2], 'bye now');
    assert.deepEqual(parseBye(out.subarray(0, n), only(out.subarray(0, n))), {
      ssrcs: [1, 2],
      reason: 'bye now',
    });
    const m = writeBye(out, 0, [3]);
    assert.equal(m, 8);
    assert.deepEqual(parseBye(out.subarray(0, m), only(out.subarray(0, m))), { ssrcs: [3] });
    const sr = buildSenderReport(1, 0, 0, 0, 0);
    const view: RtcpHeaderView = { type: 200, count: 0, offset: 0, bytes: 28 };
    assert.equal(parseSenderReport(sr.subarray(0, 20), view), undefined);
    assert.equal(parseSdes(sr, view), undefined, 'not an SDES');
    assert.equal(
      forEachRtcp(sr.subarray(0, 20), () => undefined),
      false,
    );
  });
});
