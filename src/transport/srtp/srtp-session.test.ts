import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
// werift's SRTP (a separate, independent implementation) is the interop oracle.
import werift from 'werift-dtls/lib/rtp/src/index.js';
import { nativeAddon } from './native-addon.ts';
import { type SrtpImplementation, SrtpProfile, type SrtpProfileId, SrtpSession } from './srtp-session.ts';

/** JavaScript always; the native addon too where it is built (native-srtp.test.ts builds it). */
const IMPLEMENTATIONS: SrtpImplementation[] = nativeAddon() ? ['js', 'native'] : ['js'];

function rtp(seq: number, ssrc: number, payloadBytes: number, extension = false): Buffer {
  const ext = extension ? 8 : 0;
  const buf = Buffer.alloc(12 + ext + payloadBytes);
  buf[0] = extension ? 0x90 : 0x80;
  buf[1] = 96;
  buf.writeUInt16BE(seq, 2);
  buf.writeUInt32BE((seq * 3000) >>> 0, 4);
  buf.writeUInt32BE(ssrc, 8);
  if (extension) {
    buf.writeUInt16BE(0xbede, 12);
    buf.writeUInt16BE(1, 14);
    buf.writeUInt32BE(0x10ff0000, 16);
  }
  for (let i = 12 + ext; i < buf.length; i++) buf[i] = i & 0xff;
  return buf;
}

function senderReport(ssrc: number): Buffer {
  const buf = Buffer.alloc(28);
  buf[0] = 0x80;
  buf[1] = 200;
  buf.writeUInt16BE(6, 2);
  buf.writeUInt32BE(ssrc, 4);
  buf.fill(0xab, 8);
  return buf;
}

/** protect into a fresh buffer of the exact size. */
function protect(s: SrtpSession, packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + s.rtpOverheadBytes);
  assert.equal(s.protectRtp(packet, out), out.length);
  return out;
}

function protectRtcp(s: SrtpSession, packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + s.rtcpOverheadBytes);
  assert.equal(s.protectRtcp(packet, out), out.length);
  return out;
}

/** unprotect a copy in place; the plain packet, or the failure. */
function unprotect(s: SrtpSession, packet: Buffer): Buffer | string {
  const copy = Buffer.from(packet);
  const n = s.unprotectRtp(copy);
  return typeof n === 'number' ? copy.subarray(0, n) : n;
}

function unprotectRtcp(s: SrtpSession, packet: Buffer): Buffer | string {
  const copy = Buffer.from(packet);
  const n = s.unprotectRtcp(copy);
  return typeof n === 'number' ? copy.subarray(0, n) : n;
}

const PROFILES: Array<[string, SrtpProfileId, number]> = [
  ['AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES_CM_128_HMAC_SHA1_80, 14],
  ['AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM, 12],
];

for (const [name, profile, saltBytes] of PROFILES)
  for (const impl of IMPLEMENTATIONS) {
    describe(`SrtpSession ${name} (${impl})`, () => {
      const key = randomBytes(16);
      const salt = randomBytes(saltBytes);
      const keys = {
        localMasterKey: key,
        localMasterSalt: salt,
        remoteMasterKey: key,
        remoteMasterSalt: salt,
      };
      const session = () => new SrtpSession(profile, key, salt, undefined, impl);
      const pair = () => [session(), session()] as const;

      it('round trip into a separate buffer and in place (empty payload, header extension)', () => {
        const [tx, rx] = pair();
        for (const packet of [rtp(1, 0x1234, 1000), rtp(2, 0x1234, 0), rtp(3, 0x1234, 17, true)]) {
          const headerBytes = packet[0] === 0x90 ? 20 : 12;
          const sealed = protect(tx, packet);
          assert.deepEqual(
            sealed.subarray(0, headerBytes),
            packet.subarray(0, headerBytes),
            'header in clear',
          );
          if (packet.length > headerBytes)
            assert.notDeepEqual(sealed.subarray(headerBytes, packet.length), packet.subarray(headerBytes));
          const out = Buffer.alloc(packet.length);
          assert.equal(rx.unprotectRtp(sealed, out), packet.length);
          assert.deepEqual(out, packet);
        }
        // In place both ways: packet at the start of a buffer with room for the tag.
        const buf = Buffer.alloc(1300);
        const packet = rtp(4, 0x1234, 1200);
        packet.copy(buf);
        const n = tx.protectRtp(buf.subarray(0, packet.length), buf);
        assert.equal(n, packet.length + tx.rtpOverheadBytes);
        assert.equal(rx.unprotectRtp(buf.subarray(0, n as number)), packet.length);
        assert.deepEqual(buf.subarray(0, packet.length), packet);
      });

      it('works on packets at any byte offset in memory', () => {
        const [tx, rx] = pair();
        for (const offset of [1, 2, 3]) {
          const packet = rtp(20 + offset, 77, 333);
          const backing = Buffer.alloc(packet.length + 40);
          const out = backing.subarray(offset, offset + packet.length + tx.rtpOverheadBytes);
          packet.copy(out);
          const n = tx.protectRtp(out.subarray(0, packet.length), out);
          assert.equal(typeof n, 'number');
          assert.deepEqual(unprotect(rx, out), packet);
        }
      });

      it('werift decrypts what we encrypt, and we decrypt what werift encrypts (RTP and RTCP)', () => {
        const [ours] = pair();
        const theirsRtp = new werift.SrtpSession({ keys, profile });
        const theirsSrtcp = new werift.SrtcpSession({ keys, profile });
        const packet = rtp(100, 0xcafe, 1200);
        assert.deepEqual(Buffer.from(theirsRtp.decrypt(protect(ours, packet))), packet);
        const parsed = werift.RtpPacket.deSerialize(rtp(101, 0xbeef, 300));
        const fromWerift = theirsRtp.encrypt(parsed.payload, parsed.header);
        assert.deepEqual(unprotect(session(), fromWerift), rtp(101, 0xbeef, 300));
        const sr = senderReport(0xcafe);
        assert.deepEqual(Buffer.from(theirsSrtcp.decrypt(protectRtcp(ours, sr))), sr);
        const srtcp = theirsSrtcp.encrypt(senderReport(7));
        assert.deepEqual(unprotectRtcp(session(), srtcp), senderReport(7));
      });

      it('refuses tampered, replayed, short, malformed input, and an output too small', () => {
        const [tx, rx] = pair();
        const p = protect(tx, rtp(5, 1, 100));
        for (const at of [3, 9, 20, p.length - 1]) {
          const bad = Buffer.from(p);
          bad[at] = bad[at]! ^ 1;
          assert.equal(unprotect(rx, bad), 'auth_failed', `byte ${at}`);
        }
        assert.ok(Buffer.isBuffer(unprotect(rx, p)));
        assert.equal(unprotect(rx, p), 'replayed');
        assert.equal(rx.unprotectRtp(p.subarray(0, 14)), 'too_short');
        assert.equal(rx.unprotectRtp(Buffer.alloc(40)), 'malformed', 'version 0');
        assert.equal(tx.protectRtp(rtp(6, 1, 10), Buffer.alloc(30)), 'out_too_small');
        assert.equal(tx.protectRtp(Buffer.alloc(8, 0x80), Buffer.alloc(100)), 'malformed');
        const rtcp = protectRtcp(tx, senderReport(1));
        assert.ok(Buffer.isBuffer(unprotectRtcp(rx, rtcp)));
        assert.equal(unprotectRtcp(rx, rtcp), 'replayed');
        const badRtcp = protectRtcp(tx, senderReport(1));
        badRtcp[10] = badRtcp[10]! ^ 1;
        assert.equal(unprotectRtcp(rx, badRtcp), 'auth_failed');
        assert.equal(rx.unprotectRtcp(Buffer.alloc(10)), 'too_short');
        assert.equal(tx.protectRtcp(senderReport(1), Buffer.alloc(28)), 'out_too_small');
      });

      it('a failed packet leaves the input untouched and the stream state unchanged', () => {
        const [tx, rx] = pair();
        const genuine = protect(tx, rtp(10, 3, 64));
        const forged = Buffer.from(protect(tx, rtp(40_000, 3, 64)));
        forged[30] = forged[30]! ^ 1;
        const copy = Buffer.from(forged);
        assert.equal(rx.unprotectRtp(forged), 'auth_failed');
        assert.deepEqual(forged, copy);
        assert.deepEqual(unprotect(rx, genuine), rtp(10, 3, 64), 'the forged far-ahead seq moved no ROC');
      });

      it('accepts reordering inside the replay window and refuses packets older than it', () => {
        const [tx, rx] = pair();
        const packets = Array.from({ length: 300 }, (_, i) => protect(tx, rtp(i, 5, 20)));
        assert.ok(Buffer.isBuffer(unprotect(rx, packets[299]!)));
        assert.ok(Buffer.isBuffer(unprotect(rx, packets[250]!)), 'late but within 128');
        assert.equal(unprotect(rx, packets[100]!), 'replayed', 'older than the window');
        assert.equal(unprotect(rx, packets[250]!), 'replayed');
      });

      it('the rollover counter follows a wrap (65535 → 0), in order and reordered; werift agrees', () => {
        const [tx, rx] = pair();
        const sent = [65_530, 65_533, 65_535, 0, 2, 1, 3, 65_534].map(
          (seq) => [seq, protect(tx, rtp(seq, 9, 50))] as const,
        );
        for (const [seq, packet] of sent)
          assert.deepEqual(unprotect(rx, packet), rtp(seq, 9, 50), `seq ${seq}`);
        const theirs = new werift.SrtpSession({ keys, profile });
        for (const [seq, packet] of sent.slice(0, 7))
          assert.deepEqual(Buffer.from(theirs.decrypt(packet)), rtp(seq, 9, 50), `werift seq ${seq}`);
      });

      it('keeps separate state per SSRC', () => {
        const [tx, rx] = pair();
        const a = protect(tx, rtp(7, 0xa, 30));
        const b = protect(tx, rtp(7, 0xb, 30));
        assert.ok(Buffer.isBuffer(unprotect(rx, a)));
        assert.ok(Buffer.isBuffer(unprotect(rx, b)), 'same seq, other SSRC: not a replay');
      });
    });
  }

describe('SrtpSession legacy protectRtp(packet, headerBytes)', () => {
  it('still returns a new protected buffer (for callers of the first API)', () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const tx = new SrtpSession(SrtpProfile.AES_CM_128_HMAC_SHA1_80, key, salt);
    const rx = new SrtpSession(SrtpProfile.AES_CM_128_HMAC_SHA1_80, key, salt);
    const sealed = tx.protectRtp(rtp(1, 1, 100), 12);
    assert.equal(sealed.length, 122);
    assert.deepEqual(unprotect(rx, sealed), rtp(1, 1, 100));
    assert.equal(tx.protectRtp(Buffer.alloc(4), 12).length, 0);
  });
});
