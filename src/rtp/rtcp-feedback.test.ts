import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// werift's RTCP codec is an independent oracle.
import werift from 'werift-dtls/lib/rtp/src/index.js';
import {
  buildPli,
  buildRemb,
  feedbackMediaSsrc,
  nackBytes,
  nackItems,
  nackSequenceNumbers,
  PsfbFmt,
  parseFir,
  parseRemb,
  type RtcpHeaderView,
  RtcpIterator,
  RtcpType,
  RtpfbFmt,
  rembBitrateBps,
  writeFir,
  writeNack,
  writePli,
  writeRemb,
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

describe('rtcp feedback', () => {
  it('NACK: items group seqs into PID + BLP across the wrap, sorted, duplicates dropped', () => {
    assert.deepEqual(nackItems([65_534, 65_535, 1, 1]), [[65_534, 0b101]]);
    assert.deepEqual(nackItems([5, 100, 21, 22]), [
      [5, 1 << 15],
      [22, 0],
      [100, 0],
    ]);
    assert.deepEqual(nackItems([]), []);
  });

  it('NACK: write then read back the same set; werift reads the same list', () => {
    const seqs = [65_530, 65_531, 65_535, 0, 3, 20, 40, 41, 1000];
    const out = Buffer.alloc(nackBytes(seqs));
    assert.equal(writeNack(out, 0, 1, 0xabc, seqs), out.length);
    const p = only(out);
    assert.deepEqual([p.type, p.count], [RtcpType.RTPFB, RtpfbFmt.NACK]);
    assert.equal(feedbackMediaSsrc(out, p), 0xabc);
    assert.deepEqual(nackSequenceNumbers(out, p), seqs);
    const [theirs] = werift.RtcpPacketConverter.deSerialize(out);
    assert.ok(theirs instanceof werift.RtcpTransportLayerFeedback);
    assert.ok(theirs.feedback instanceof werift.GenericNack);
    // werift does not wrap PID + bit at 65536; compare modulo 2^16.
    assert.deepEqual(
      theirs.feedback.lost.map((s) => s & 0xffff).sort((a, b) => a - b),
      [...seqs].sort((a, b) => a - b),
    );
    const fromWerift = new werift.RtcpTransportLayerFeedback({
      feedback: new werift.GenericNack({ senderSsrc: 1, mediaSourceSsrc: 2, lost: [10, 11, 13, 30] }),
    }).serialize();
    assert.deepEqual(nackSequenceNumbers(fromWerift, only(fromWerift)), [10, 11, 13, 30]);
    assert.equal(writeNack(Buffer.alloc(12), 0, 1, 2, [5]), -1, 'does not fit');
    assert.equal(writeNack(Buffer.alloc(40), 0, 1, 2, []), -1, 'nothing to ask for');
  });

  it('PLI: 12 bytes naming the media SSRC; werift agrees', () => {
    const out = Buffer.alloc(16);
    assert.equal(writePli(out, 4, 0x10, 0x20), 12);
    assert.deepEqual(out.subarray(4), buildPli(0x10, 0x20));
    const p = only(out.subarray(4));
    assert.deepEqual([p.type, p.count], [RtcpType.PSFB, PsfbFmt.PLI]);
    const [theirs] = werift.RtcpPacketConverter.deSerialize(buildPli(0x10, 0x20));
    assert.ok(theirs instanceof werift.RtcpPayloadSpecificFeedback);
    assert.ok(theirs.feedback instanceof werift.PictureLossIndication);
    assert.equal(theirs.feedback.mediaSsrc, 0x20);
    assert.equal(writePli(Buffer.alloc(11), 0, 1, 2), -1);
  });

  it('FIR (RFC 5104): entries with command sequence numbers, media SSRC field 0', () => {
    const out = Buffer.alloc(28);
    const entries = [
      { ssrc: 0xaaaa, seqNr: 7 },
      { ssrc: 0xbbbb, seqNr: 255 },
    ];
    assert.equal(writeFir(out, 0, 1, entries), 28);
    const p = only(out);
    assert.deepEqual([p.type, p.count], [RtcpType.PSFB, PsfbFmt.FIR]);
    assert.equal(feedbackMediaSsrc(out, p), 0);
    assert.deepEqual(parseFir(out, p), entries);
    assert.deepEqual(
      parseFir(out, { ...p, bytes: 20, contentBytes: 20 }),
      [entries[0]],
      'FCI past the length is not read',
    );
  });

  it('REMB: bitrate as 18-bit mantissa and exponent, SSRC list; werift agrees both ways', () => {
    for (const bps of [0, 1, 262_143, 262_144, 1_500_000, 2_500_000_000]) {
      const out = Buffer.alloc(28);
      assert.equal(writeRemb(out, 0, 1, bps, [5, 6]), 28);
      const remb = parseRemb(out, only(out))!;
      assert.deepEqual(remb.ssrcs, [5, 6]);
      assert.ok(
        remb.bitrateBps <= bps && remb.bitrateBps >= bps * (1 - 2 ** -17),
        `${bps} → ${remb.bitrateBps}`,
      );
      const [theirs] = werift.RtcpPacketConverter.deSerialize(out);
      assert.ok(theirs instanceof werift.RtcpPayloadSpecificFeedback);
      assert.ok(theirs.feedback instanceof werift.ReceiverEstimatedMaxBitrate);
      assert.equal(Number(theirs.feedback.bitrate), remb.bitrateBps);
    }
    const fromWerift = new werift.RtcpPayloadSpecificFeedback({
      feedback: new werift.ReceiverEstimatedMaxBitrate({
        senderSsrc: 1,
        brExp: 1,
        brMantissa: 150_000,
        ssrcNum: 1,
        ssrcFeedbacks: [9],
      }),
    }).serialize();
    assert.deepEqual(parseRemb(fromWerift, only(fromWerift)), { bitrateBps: 300_000, ssrcs: [9] });
    assert.equal(rembBitrateBps(buildRemb(1, 64_000, []), only(buildRemb(1, 64_000, []))), 64_000);
  });

  it('REMB: not a REMB, or an SSRC count past the packet, parses as undefined', () => {
    const pli = buildPli(1, 2);
    assert.equal(parseRemb(pli, only(pli)), undefined);
    const remb = buildRemb(1, 1000, [1]);
    remb[16] = 5;
    assert.equal(parseRemb(remb, only(remb)), undefined);
    const notRemb = buildRemb(1, 1000, [1]);
    notRemb.write('ABCD', 12, 'latin1');
    assert.equal(parseRemb(notRemb, only(notRemb)), undefined);
  });
});
