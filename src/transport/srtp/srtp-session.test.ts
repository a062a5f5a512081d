import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
// werift's SRTP (a separate, independent implementation) is the interop oracle.
import werift from 'werift-dtls/lib/rtp/src/index.js';
import { deriveKey, Label } from './key-derivation.ts';
import { SrtpProfile, type SrtpProfileId, SrtpSession } from './srtp-session.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function rtp(seq: number, ssrc: number, payloadBytes: number, extension = false): Buffer {
  const ext = extension ? 8 : 0;
  const buf = Buffer.alloc(12 + ext + payloadBytes);
  buf[0] = extension ? 0x90 : 0x80;
  buf[1] = 96;
  buf.writeUInt16BE(seq, 2);
  buf.writeUInt32BE(seq * 3000, 4);
  buf.writeUInt32BE(ssrc, 8);
  if (extension) {
    buf.writeUInt16BE(0xbede, 12);
    buf.writeUInt16BE(1, 14);
    buf.writeUInt32BE(0x10ff0000, 16);
  }
  for (let i = 12 + ext; i < buf.length; i++) buf[i] = i & 0xff;
  return buf;
}

function rtcpSenderReport(ssrc: number): Buffer {
  const buf = Buffer.alloc(28);
  buf[0] = 0x80;
  buf[1] = 200;
  buf.writeUInt16BE(6, 2);
  buf.writeUInt32BE(ssrc, 4);
  buf.fill(0xab, 8);
  return buf;
}

const PROFILES: Array<[string, SrtpProfileId]> = [
  ['AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES_CM_128_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM],
];

describe('SRTP key derivation (RFC 3711 Appendix B)', () => {
  it('B.2: AES-CM keystream', () => {
    const stream = deriveKey(
      hex('2B7E151628AED2A6ABF7158809CF4F3C'),
      hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
      0,
      48,
    );
    assert.equal(
      stream.toString('hex').toUpperCase(),
      'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
    );
  });

  it('B.3: session keys from a master key and salt', () => {
    const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
    assert.equal(
      deriveKey(key, salt, Label.RtpCipher, 16).toString('hex').toUpperCase(),
      'C61E7A93744F39EE10734AFE3FF7A087',
    );
    assert.equal(
      deriveKey(key, salt, Label.RtpSalt, 14).toString('hex').toUpperCase(),
      '30CBBC08863D8C85D49DB34A9AE1',
    );
    assert.equal(
      deriveKey(key, salt, Label.RtpAuth, 20).toString('hex').toUpperCase(),
      'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4',
    );
  });
});

for (const [name, profile] of PROFILES) {
  describe(`SrtpSession ${name}`, () => {
    const saltBytes = profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
    const key = randomBytes(16);
    const salt = randomBytes(saltBytes);
    const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };

    it('round trip: protect then unprotect gives the packet back (with a header extension)', () => {
      const tx = new SrtpSession(profile, key, salt);
      const rx = new SrtpSession(profile, key, salt);
      for (const packet of [rtp(1, 0x1234, 1000), rtp(2, 0x1234, 0), rtp(3, 0x1234, 17, true)]) {
        const headerBytes = packet[0] === 0x90 ? 20 : 12;
        const protectedPacket = tx.protectRtp(packet, headerBytes);
        if (packet.length > headerBytes) {
          assert.notDeepEqual(
            protectedPacket.subarray(headerBytes, packet.length),
            packet.subarray(headerBytes),
          );
        }
        assert.deepEqual(rx.unprotectRtp(protectedPacket, headerBytes), packet);
      }
    });

    it('works on packets that sit at any byte offset in memory', () => {
      const tx = new SrtpSession(profile, key, salt);
      const rx = new SrtpSession(profile, key, salt);
      for (const offset of [1, 2, 3]) {
        const packet = rtp(20 + offset, 77, 333);
        const backing = Buffer.alloc(packet.length + 8);
        const misaligned = backing.subarray(offset, offset + packet.length);
        packet.copy(misaligned);
        const protectedPacket = tx.protectRtp(misaligned, 12);
        const shifted = Buffer.alloc(protectedPacket.length + 4).subarray(offset);
        protectedPacket.copy(shifted);
        assert.deepEqual(rx.unprotectRtp(shifted.subarray(0, protectedPacket.length), 12), packet);
      }
    });

    it('werift decrypts what we encrypt, and we decrypt what werift encrypts (RTP and RTCP)', () => {
      const ours = new SrtpSession(profile, key, salt);
      const theirsRtp = new werift.SrtpSession({ keys, profile });
      const theirsRtcp = new werift.SrtcpSession({ keys, profile });
      const packet = rtp(100, 0xcafe, 1200);
      assert.deepEqual(Buffer.from(theirsRtp.decrypt(ours.protectRtp(packet, 12))), packet);
      const parsed = werift.RtpPacket.deSerialize(rtp(101, 0xbeef, 300));
      const fromWerift = theirsRtp.encrypt(parsed.payload, parsed.header);
      assert.deepEqual(
        new SrtpSession(profile, key, salt).unprotectRtp(fromWerift, 12),
        rtp(101, 0xbeef, 300),
      );
      const sr = rtcpSenderReport(0xcafe);
      assert.deepEqual(Buffer.from(theirsRtcp.decrypt(ours.protectRtcp(sr))), sr);
      assert.deepEqual(
        new SrtpSession(profile, key, salt).unprotectRtcp(theirsRtcp.encrypt(rtcpSenderReport(7))),
        rtcpSenderReport(7),
      );
    });

    it('a tampered packet fails authentication; a replay is refused; short input is refused', () => {
      const tx = new SrtpSession(profile, key, salt);
      const rx = new SrtpSession(profile, key, salt);
      const p = tx.protectRtp(rtp(5, 1, 100), 12);
      const bad = Buffer.from(p);
      bad[20] = bad[20]! ^ 1;
      assert.equal(rx.unprotectRtp(bad, 12), 'auth_failed');
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(p, 12)));
      assert.equal(rx.unprotectRtp(p, 12), 'replayed');
      assert.equal(rx.unprotectRtp(p.subarray(0, 14), 12), 'too_short');
      const rtcp = tx.protectRtcp(rtcpSenderReport(1));
      assert.ok(Buffer.isBuffer(rx.unprotectRtcp(rtcp)));
      assert.equal(rx.unprotectRtcp(rtcp), 'replayed');
      const badRtcp = tx.protectRtcp(rtcpSenderReport(1));
      badRtcp[10] = badRtcp[10]! ^ 1;
      assert.equal(rx.unprotectRtcp(badRtcp), 'auth_failed');
      assert.equal(rx.unprotectRtcp(Buffer.alloc(10)), 'too_short');
    });

    it('the rollover counter follows a sequence number wrap (65535 → 0), in order and slightly reordered', () => {
      const tx = new SrtpSession(profile, key, salt);
      const rx = new SrtpSession(profile, key, salt);
      const sent = [65_530, 65_533, 65_535, 0, 2, 1, 3].map(
        (seq) => [seq, tx.protectRtp(rtp(seq, 9, 50), 12)] as const,
      );
      for (const [seq, packet] of sent)
        assert.deepEqual(rx.unprotectRtp(packet, 12), rtp(seq, 9, 50), `seq ${seq}`);
      // Independent check: werift, fed the same packets, agrees.
      const theirs = new werift.SrtpSession({ keys, profile });
      for (const [seq, packet] of sent)
        assert.deepEqual(Buffer.from(theirs.decrypt(packet)), rtp(seq, 9, 50), `werift seq ${seq}`);
    });
  });
}
