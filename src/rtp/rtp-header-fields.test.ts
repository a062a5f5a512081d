import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerExtension } from './rtp-extensions.ts';
import { isRtcp, isValidRtcp, rtpHeaderBytes } from './rtp-packet.ts';

describe('rtp-header', () => {
  it('rtpHeaderBytes() counts CSRCs and the extension block', () => {
    const plain = Buffer.alloc(20);
    plain[0] = 0x80;
    assert.equal(rtpHeaderBytes(plain), 12);
    const csrc = Buffer.alloc(30);
    csrc[0] = 0x82;
    assert.equal(rtpHeaderBytes(csrc), 20);
    const ext = Buffer.alloc(40);
    ext[0] = 0x90;
    ext.writeUInt16BE(0xbede, 12);
    ext.writeUInt16BE(2, 14);
    assert.equal(rtpHeaderBytes(ext), 24);
  });

  it('rtpHeaderBytes() refuses truncated and non-RTP input', () => {
    assert.equal(rtpHeaderBytes(Buffer.alloc(11, 0x80)), -1);
    const badVersion = Buffer.alloc(20);
    badVersion[0] = 0x40;
    assert.equal(rtpHeaderBytes(badVersion), -1);
    const ext = Buffer.alloc(16);
    ext[0] = 0x90;
    ext.writeUInt16BE(100, 14);
    assert.equal(rtpHeaderBytes(ext), -1, 'extension longer than the packet');
    const csrc = Buffer.alloc(14);
    csrc[0] = 0x8f;
    assert.equal(rtpHeaderBytes(csrc), -1, '15 CSRCs do not fit');
  });

  it('isRtcp() separates RTCP payload types 192–223 from RTP', () => {
    const b = Buffer.alloc(8);
    b[0] = 0x80;
    for (const [pt, rtcp] of [
      [200, true],
      [201, true],
      [206, true],
      [223, true],
      [96, false],
      [111, false],
      [0xe0, false],
    ] as const) {
      b[1] = pt;
      assert.equal(isRtcp(b), rtcp, String(pt));
    }
  });

  it('isValidRtcp() checks version and the length field', () => {
    const sr = Buffer.alloc(28);
    sr[0] = 0x80;
    sr[1] = 200;
    sr.writeUInt16BE(6, 2);
    assert.equal(isValidRtcp(sr), true);
    sr.writeUInt16BE(7, 2);
    assert.equal(isValidRtcp(sr), false);
    assert.equal(isValidRtcp(Buffer.alloc(4)), false);
  });
});

describe('headerExtension()', () => {
  it('finds one-byte extensions (mid and rid) and skips padding', () => {
    const b = Buffer.alloc(12 + 4 + 8 + 4);
    b[0] = 0x90;
    b.writeUInt16BE(0xbede, 12);
    b.writeUInt16BE(2, 14);
    // id 4 (mid) "1", then a padding byte, then id 10 (rid) "hq"
    Buffer.from([0x40, 0x31, 0x00, 0xa1, 0x68, 0x71, 0x00, 0x00]).copy(b, 16);
    assert.equal(headerExtension(b, 4)?.toString(), '1');
    assert.equal(headerExtension(b, 10)?.toString(), 'hq');
    assert.equal(headerExtension(b, 3), undefined);
  });

  it('finds two-byte extensions', () => {
    const b = Buffer.alloc(12 + 4 + 4 + 4);
    b[0] = 0x90;
    b.writeUInt16BE(0x1000, 12);
    b.writeUInt16BE(1, 14);
    Buffer.from([0x07, 0x02, 0x61, 0x62]).copy(b, 16);
    assert.equal(headerExtension(b, 7)?.toString(), 'ab');
  });

  it('refuses malformed blocks', () => {
    const b = Buffer.alloc(20);
    b[0] = 0x90;
    b.writeUInt16BE(0xbede, 12);
    b.writeUInt16BE(1, 14);
    b[16] = 0x4f; // id 4 claims 16 bytes
    assert.equal(headerExtension(b, 4), undefined);
    b.writeUInt16BE(9, 14);
    assert.equal(headerExtension(b, 4), undefined, 'block longer than the packet');
    assert.equal(headerExtension(Buffer.alloc(12, 0x90), 1), undefined);
  });
});
