import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  classifyPacket,
  getRtpCsrcCount,
  getRtpMarker,
  getRtpPayloadType,
  getRtpSeq,
  getRtpSsrc,
  getRtpTimestamp,
  isRtcp,
  isValidRtp,
  newRtpLayout,
  readRtpLayout,
  rtpHeaderBytes,
  rtpPayloadBytes,
  rtpPayloadOffset,
  setRtpMarker,
  setRtpPayloadType,
  setRtpSeq,
  setRtpSsrc,
  setRtpTimestamp,
} from './rtp-packet.ts';

/** V=2, 2 CSRCs, a one-byte extension block of 1 word, 5 payload bytes and 3 bytes of padding. */
function fullPacket(): Buffer {
  const p = Buffer.alloc(12 + 8 + 8 + 5 + 3);
  p[0] = 0x80 | 0x20 | 0x10 | 2;
  p[1] = 0x80 | 111;
  p.writeUInt16BE(0xfffe, 2);
  p.writeUInt32BE(0xdeadbeef, 4);
  p.writeUInt32BE(0x01020304, 8);
  p.writeUInt32BE(11, 12);
  p.writeUInt32BE(22, 16);
  p.writeUInt16BE(0xbede, 20);
  p.writeUInt16BE(1, 22);
  p.writeUInt32BE(0x10aabb00, 24);
  p.fill(0x55, 28, 33);
  p[p.length - 1] = 3;
  return p;
}

describe('rtp-packet', () => {
  it('reads the layout of a packet with CSRCs, extension and padding', () => {
    const layout = newRtpLayout();
    assert.equal(readRtpLayout(fullPacket(), layout), true);
    assert.deepEqual(layout, {
      headerBytes: 28,
      payloadBytes: 5,
      paddingBytes: 3,
      extensionProfile: 0xbede,
      extensionOffset: 24,
      extensionBytes: 4,
    });
    assert.equal(rtpPayloadOffset(fullPacket()), 28);
    assert.equal(rtpPayloadBytes(fullPacket()), 5);
    assert.equal(isValidRtp(fullPacket()), true);
  });

  it('reads and writes the fixed header fields in place', () => {
    const p = fullPacket();
    assert.equal(getRtpPayloadType(p), 111);
    assert.equal(getRtpMarker(p), true);
    assert.equal(getRtpSeq(p), 0xfffe);
    assert.equal(getRtpTimestamp(p), 0xdeadbeef);
    assert.equal(getRtpSsrc(p), 0x01020304);
    assert.equal(getRtpCsrcCount(p), 2);
    assert.ok(setRtpPayloadType(p, 96));
    assert.ok(setRtpMarker(p, false));
    assert.ok(setRtpSeq(p, 0x1234));
    assert.ok(setRtpTimestamp(p, 0xffffffff));
    assert.ok(setRtpSsrc(p, 0xcafebabe));
    assert.equal(p[1], 96);
    assert.equal(getRtpSeq(p), 0x1234);
    assert.equal(getRtpTimestamp(p), 0xffffffff);
    assert.equal(getRtpSsrc(p), 0xcafebabe);
    assert.equal(getRtpMarker(p), false);
    assert.ok(setRtpMarker(p, true));
    assert.equal(p[1], 0x80 | 96, 'the marker keeps the payload type');
    assert.equal(readRtpLayout(p, newRtpLayout()), true, 'still valid');
  });

  it('refuses bad version, truncated CSRCs or extension, and bad padding', () => {
    const layout = newRtpLayout();
    const badVersion = fullPacket();
    badVersion[0] = badVersion[0]! & 0x3f;
    assert.equal(readRtpLayout(badVersion, layout), false);
    const csrcs = Buffer.alloc(14);
    csrcs[0] = 0x8f;
    assert.equal(rtpHeaderBytes(csrcs), -1);
    const ext = fullPacket();
    ext.writeUInt16BE(100, 22);
    assert.equal(rtpHeaderBytes(ext), -1);
    const zeroPadding = fullPacket();
    zeroPadding[zeroPadding.length - 1] = 0;
    assert.equal(readRtpLayout(zeroPadding, layout), false);
    const hugePadding = fullPacket();
    hugePadding[hugePadding.length - 1] = 9;
    assert.equal(readRtpLayout(hugePadding, layout), false);
    assert.equal(rtpPayloadBytes(hugePadding), -1);
  });

  it('short buffers: getters give -1, setters write nothing; no input throws', () => {
    const short = Buffer.from([0x80, 0x60, 0, 1]);
    assert.equal(getRtpSeq(short), -1);
    assert.equal(getRtpSsrc(short), -1);
    assert.equal(getRtpMarker(short), false);
    assert.equal(setRtpSsrc(short, 1), false);
    assert.deepEqual(short, Buffer.from([0x80, 0x60, 0, 1]));
    const full = fullPacket();
    for (let len = 0; len < full.length; len++) {
      const cut = full.subarray(0, len);
      assert.equal(readRtpLayout(cut, newRtpLayout()), false, `length ${len}`);
    }
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(i % 40);
      readRtpLayout(junk, newRtpLayout());
      classifyPacket(junk);
    }
  });

  it('isRtcp() by RFC 5761 payload types; classifyPacket() by RFC 7983 first byte', () => {
    const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
    assert.equal(isRtcp(rr), true);
    assert.equal(isRtcp(fullPacket()), false);
    assert.equal(isRtcp(Buffer.from([0x80, 0x80 | 96])), false, 'marker + dynamic PT is RTP');
    assert.equal(classifyPacket(rr), 'rtcp');
    assert.equal(classifyPacket(fullPacket()), 'rtp');
    const stun = Buffer.alloc(20);
    stun[1] = 1;
    assert.equal(classifyPacket(stun), 'stun');
    const dtls = Buffer.alloc(13);
    dtls[0] = 22;
    assert.equal(classifyPacket(dtls), 'dtls');
    assert.equal(classifyPacket(Buffer.alloc(0)), 'unknown');
    assert.equal(classifyPacket(Buffer.from([17, 0, 0, 0])), 'unknown', 'ZRTP');
    assert.equal(classifyPacket(Buffer.alloc(24, 64)), 'unknown', 'TURN channel');
    assert.equal(classifyPacket(Buffer.alloc(10, 0x80)), 'unknown', 'too short for RTP');
    assert.equal(classifyPacket(Buffer.alloc(19)), 'unknown', 'too short for STUN');
  });
});
