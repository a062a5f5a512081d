import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildPli,
  buildRemb,
  buildSenderReport,
  feedbackMediaSsrc,
  firSsrcs,
  forEachRtcp,
  nackSequenceNumbers,
  PsfbFmt,
  type RtcpHeaderView,
  RtcpType,
  rembBitrateBps,
} from './rtcp.ts';

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
});
