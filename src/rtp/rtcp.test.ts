import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildPli,
  buildRemb,
  buildSenderReport,
  feedbackMediaSsrc,
  firSsrcs,
  forEachRtcp,
  isValidRtcpCompound,
  nackSequenceNumbers,
  PsfbFmt,
  parseBye,
  parseFir,
  parseReceiverReport,
  parseRemb,
  parseSdes,
  parseSenderReport,
  parseTwcc,
  type RtcpHeaderView,
  RtcpIterator,
  RtcpType,
  rembBitrateBps,
  writeBye,
  writeFir,
  writeNack,
  writeRemb,
  writeSdesCname,
  writeSenderReport,
  writeTwcc,
} from './rtcp.ts';

const SR_FIELDS = { ssrc: 1, ntpSeconds: 2, ntpFraction: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6 };

function views(buf: Buffer): RtcpHeaderView[] {
  const out: RtcpHeaderView[] = [];
  assert.equal(
    forEachRtcp(buf, (p) => out.push(p)),
    true,
  );
  return out;
}

describe('rtcp', () => {
  it('iterates a compound packet: SR + PLI + REMB', () => {
    const compound = Buffer.concat([
      buildSenderReport(1, Date.now(), 90_000, 10, 1000),
      buildPli(1, 2),
      buildRemb(1, 1_500_000, [2, 3]),
    ]);
    const ps = views(compound);
    assert.deepEqual(
      ps.map((p) => [p.type, p.count]),
      [
        [RtcpType.SR, 0],
        [RtcpType.PSFB, PsfbFmt.PLI],
        [RtcpType.PSFB, PsfbFmt.REMB],
      ],
    );
    assert.equal(feedbackMediaSsrc(compound, ps[1]!), 2);
    const remb = rembBitrateBps(compound, ps[2]!)!;
    assert.ok(Math.abs(remb - 1_500_000) / 1_500_000 < 0.001, String(remb));
  });

  it('reads NACK sequence numbers from PID and BLP (RFC 4585 §6.2.1)', () => {
    const nack = Buffer.alloc(16);
    nack[0] = 0x81;
    nack[1] = RtcpType.RTPFB;
    nack.writeUInt16BE(3, 2);
    nack.writeUInt32BE(9, 8);
    nack.writeUInt16BE(65_534, 12);
    nack.writeUInt16BE(0b101, 14);
    assert.deepEqual(nackSequenceNumbers(nack, views(nack)[0]!), [65_534, 65_535, 1]);
  });

  it('reads FIR SSRCs', () => {
    const fir = Buffer.alloc(20);
    fir[0] = 0x84;
    fir[1] = RtcpType.PSFB;
    fir.writeUInt16BE(4, 2);
    fir.writeUInt32BE(77, 12);
    assert.deepEqual(firSsrcs(fir, views(fir)[0]!), [77]);
  });

  it('refuses malformed compounds without reading past the end', () => {
    const pli = buildPli(1, 2);
    for (let len = 1; len < pli.length; len++)
      assert.equal(
        forEachRtcp(pli.subarray(0, len), () => undefined),
        false,
        String(len),
      );
    const bad = Buffer.from(pli);
    bad[0] = 0x40;
    assert.equal(
      forEachRtcp(bad, () => undefined),
      false,
    );
    const tooLong = Buffer.from(pli);
    tooLong.writeUInt16BE(100, 2);
    assert.equal(
      forEachRtcp(tooLong, () => undefined),
      false,
    );
    const notRemb = buildPli(1, 2);
    assert.equal(rembBitrateBps(notRemb, views(notRemb)[0]!), undefined);
  });

  it('RtcpIterator walks a compound without allocating views, and can be reused', () => {
    const compound = Buffer.concat([
      buildSenderReport(1, 0, 0, 0, 0),
      buildPli(1, 2),
      buildRemb(1, 8000, [2]),
    ]);
    const it = new RtcpIterator();
    for (let round = 0; round < 2; round++) {
      const seen: Array<[number, number, number]> = [];
      it.reset(compound);
      while (it.next()) seen.push([it.type, it.offset, it.bytes]);
      assert.equal(it.malformed, false);
      assert.deepEqual(seen, [
        [RtcpType.SR, 0, 28],
        [RtcpType.PSFB, 28, 12],
        [RtcpType.PSFB, 40, 24],
      ]);
    }
    assert.equal(isValidRtcpCompound(compound), true);
    assert.equal(isValidRtcpCompound(Buffer.alloc(0)), false);
  });

  it('RtcpIterator: the P bit gives contentBytes; a zero or oversized padding count is malformed', () => {
    const sdes = Buffer.alloc(16);
    writeSdesCname(sdes, 0, 7, 'ab');
    sdes[0] = sdes[0]! | 0x20;
    sdes[15] = 2;
    const it = new RtcpIterator(sdes);
    assert.equal(it.next(), true);
    assert.equal(it.contentBytes, 14);
    sdes[15] = 0;
    assert.equal(new RtcpIterator(sdes).next(), false);
    sdes[15] = 13;
    const bad = new RtcpIterator(sdes);
    assert.equal(bad.next(), false);
    assert.equal(bad.malformed, true);
  });

  it('never throws on mutated or truncated packets of every kind', () => {
    const out = Buffer.alloc(400);
    let n = 0;
    const block = {
      ssrc: 1,
      fractionLost: 1,
      cumulativeLost: 1,
      highestSeq: 1,
      jitter: 1,
      lastSr: 1,
      delaySinceLastSr: 1,
    };
    n += writeSenderReport(out, n, { ...SR_FIELDS, reports: [block, block] });
    n += writeSdesCname(out, n, 3, 'cname');
    n += writeBye(out, n, [1, 2], 'bye');
    n += writeNack(out, n, 1, 2, [1, 2, 40]);
    n += writeFir(out, n, 1, [{ ssrc: 2, seqNr: 1 }]);
    n += writeRemb(out, n, 1, 100_000, [2, 3]);
    n += writeTwcc(out, n, {
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSeq: 1,
      feedbackPacketCount: 1,
      arrivalsUs: [0, 300_000, undefined, 9000],
    });
    const valid = out.subarray(0, n);
    assert.equal(isValidRtcpCompound(valid), true);
    const parsers = [
      parseSenderReport,
      parseReceiverReport,
      parseSdes,
      parseBye,
      nackSequenceNumbers,
      parseFir,
      parseRemb,
      parseTwcc,
      feedbackMediaSsrc,
    ];
    for (let i = 0; i < 3000; i++) {
      const junk = Buffer.from(valid.subarray(0, valid.length - (i % 9)));
      for (let k = 0; k < 1 + (i % 4); k++)
        junk[Math.floor(Math.random() * junk.length)] = Math.random() * 256;
      const it = new RtcpIterator(junk);
      while (it.next()) for (const parse of parsers) parse(junk, it);
    }
  });
});
