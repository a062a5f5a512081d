// The native fast path against the JavaScript SRTP, byte for byte. The addon is (re)built here
// when it is missing or older than its source, so it is always tested where it can be built; on
// a machine that cannot build it (no compiler, no Node headers) the tests are skipped with the
// reason printed, and a build that fails where it should work fails them.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { prepareNativeAddon } from '../../../test/support/native-addon.ts';
import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { AesCmTransform } from './aes-cm-transform.ts';
import { GcmTransform } from './gcm-transform.ts';
import { nativeAddon } from './native-addon.ts';
import { NativeSrtpTransform } from './native-transform.ts';
import { deriveSessionKeys, type SessionKeySet } from './profiles.ts';
import { SrtpProfile, type SrtpProfileId, SrtpSession } from './srtp-session.ts';

const skip = prepareNativeAddon();

const PROFILES: Array<[string, SrtpProfileId, number]> = [
  ['AES_CM_128_HMAC_SHA1_80', SrtpProfile.AES_CM_128_HMAC_SHA1_80, 14],
  ['AEAD_AES_128_GCM', SrtpProfile.AEAD_AES_128_GCM, 12],
];

/** A random RTP packet: CSRCs, a header extension and padding-free payload of random size. */
function randomRtp(seq: number, ssrc: number): Buffer {
  const csrcs = randomInt(0, 3);
  const extensionWords = randomInt(0, 2) === 1 ? randomInt(1, 4) : -1;
  const header = 12 + csrcs * 4 + (extensionWords >= 0 ? 4 + extensionWords * 4 : 0);
  const payload = randomInt(0, 1400);
  const p = randomBytes(header + payload);
  p[0] = 0x80 | (extensionWords >= 0 ? 0x10 : 0) | csrcs;
  p[1] = (randomInt(0, 2) << 7) | 96; // marker bit, PT 96
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ssrc >>> 0, 8);
  if (extensionWords >= 0) {
    const at = 12 + csrcs * 4;
    p.writeUInt16BE(0xbede, at);
    p.writeUInt16BE(extensionWords, at + 2);
  }
  return p;
}

function randomRtcp(ssrc: number): Buffer {
  const words = randomInt(1, 60);
  const p = randomBytes(8 + words * 4);
  p[0] = 0x80;
  p[1] = 200;
  p.writeUInt16BE(words + 1, 2);
  p.writeUInt32BE(ssrc >>> 0, 4);
  return p;
}

/** Session keys as key derivation would give them (which is AES-128 only), of any key size. */
function randomSessionKeys(profile: SrtpProfileId, keyBytes: number, saltBytes: number): SessionKeySet {
  const gcm = profile === SrtpProfile.AEAD_AES_128_GCM;
  const one = () => ({
    cipherKey: randomBytes(keyBytes),
    salt: randomBytes(saltBytes),
    authKey: gcm ? Buffer.alloc(0) : randomBytes(20),
  });
  return { rtp: one(), rtcp: one() };
}

function sessions(profile: SrtpProfileId, keys: SessionKeySet) {
  return {
    js: new SrtpSession(profile, Buffer.alloc(0), Buffer.alloc(0), keys, 'js'),
    native: new SrtpSession(profile, Buffer.alloc(0), Buffer.alloc(0), keys, 'native'),
  };
}

describe('native SRTP addon', { skip }, () => {
  it('is what SrtpSession picks by default once built', () => {
    assert.ok(nativeAddon());
    const s = new SrtpSession(SrtpProfile.AES_CM_128_HMAC_SHA1_80, randomBytes(16), randomBytes(14));
    assert.equal(s.implementation, 'native');
  });

  it('RFC 3711 B.2: the AES-CM keystream (SSRC 0, index 0) through sealRtp', () => {
    const hex = (x: string) => Buffer.from(x, 'hex');
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const salt = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD');
    const auth = Buffer.alloc(20);
    const keys = {
      rtp: { cipherKey: key, salt, authKey: auth },
      rtcp: { cipherKey: key, salt, authKey: auth },
    };
    const transform = new NativeSrtpTransform(nativeAddon()!, SrtpProfile.AES_CM_128_HMAC_SHA1_80, keys);
    const buf = Buffer.alloc(12 + 48 + 10);
    transform.sealRtp(buf, 12, 60, 0);
    assert.equal(
      buf.subarray(12, 60).toString('hex').toUpperCase(),
      'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
    );
  });

  it('transforms agree with JavaScript for any ROC, sequence number and SRTCP index (the full 48/31 bits)', () => {
    for (const [, profile, saltBytes] of PROFILES) {
      const keys = randomSessionKeys(profile, 16, saltBytes);
      const native = new NativeSrtpTransform(nativeAddon()!, profile, keys);
      const js = profile === SrtpProfile.AEAD_AES_128_GCM ? new GcmTransform(keys) : new AesCmTransform(keys);
      for (let i = 0; i < 200; i++) {
        const packet = randomRtp(randomInt(0, 0x10000), randomInt(0, 2 ** 32));
        const headerBytes = rtpHeaderBytes(packet);
        const roc = randomInt(0, 2 ** 32);
        const seq = packet.readUInt16BE(2);
        const ssrc = packet.readUInt32BE(8);
        const a = Buffer.alloc(packet.length + 16);
        const b = Buffer.alloc(packet.length + 16);
        packet.copy(a);
        packet.copy(b);
        const n = native.sealRtp(a, headerBytes, packet.length, roc);
        assert.equal(js.sealRtp(b, headerBytes, packet.length, roc), n);
        assert.deepEqual(a, b, `roc ${roc} seq ${seq}`);
        assert.equal(native.openRtp(a.subarray(0, n), headerBytes, a, roc), packet.length);
        assert.deepEqual(a.subarray(0, packet.length), packet);
        const rtcp = randomRtcp(ssrc);
        const index = randomInt(0, 2 ** 31);
        const c = Buffer.alloc(rtcp.length + 20);
        const d = Buffer.alloc(rtcp.length + 20);
        rtcp.copy(c);
        rtcp.copy(d);
        const m = native.sealRtcp(c, rtcp.length, ssrc, index);
        assert.equal(js.sealRtcp(d, rtcp.length, ssrc, index), m);
        assert.deepEqual(c, d, `index ${index}`);
      }
    }
  });

  for (const [name, profile, saltBytes] of PROFILES) {
    for (const keyBytes of [16, 32]) {
      it(`${name}, ${keyBytes * 8}-bit key: protect is bit-identical to JavaScript on random packets, and each side opens the other's`, () => {
        const keys = randomSessionKeys(profile, keyBytes, saltBytes);
        const tx = sessions(profile, keys);
        const rx = sessions(profile, keys);
        const rxApart = sessions(profile, keys);
        let seq = randomInt(0, 0x10000);
        const ssrc = randomInt(0, 2 ** 32);
        for (let i = 0; i < 400; i++) {
          // Crosses a sequence-number wrap for some runs, so the ROC is exercised too.
          seq = (seq + randomInt(1, 400)) & 0xffff;
          const packet = randomRtp(seq, ssrc);
          const outJs = Buffer.alloc(packet.length + tx.js.rtpOverheadBytes);
          const outNative = Buffer.alloc(packet.length + tx.native.rtpOverheadBytes);
          assert.equal(tx.js.protectRtp(packet, outJs), outJs.length);
          assert.equal(tx.native.protectRtp(packet, outNative), outNative.length);
          assert.deepEqual(outNative, outJs, `packet ${i}: ${packet.length} bytes`);
          // Native opens JavaScript's output in place; JavaScript opens a copy of the same.
          const copy = Buffer.from(outJs);
          // Into a buffer apart (what a transport receives into): the SRTP packet stays as it was.
          const apart = Buffer.alloc(1500);
          const sealed = Buffer.from(outJs);
          assert.equal(rxApart.native.unprotectRtp(outJs, apart), packet.length);
          assert.deepEqual(apart.subarray(0, packet.length), packet);
          assert.deepEqual(outJs, sealed);
          assert.equal(rx.native.unprotectRtp(outJs), packet.length);
          assert.deepEqual(outJs.subarray(0, packet.length), packet);
          assert.equal(rx.js.unprotectRtp(copy), packet.length);
        }
        for (let i = 0; i < 100; i++) {
          const rtcp = randomRtcp(ssrc);
          const outJs = Buffer.alloc(rtcp.length + tx.js.rtcpOverheadBytes);
          const outNative = Buffer.alloc(rtcp.length + tx.native.rtcpOverheadBytes);
          assert.equal(tx.js.protectRtcp(rtcp, outJs), outJs.length);
          assert.equal(tx.native.protectRtcp(rtcp, outNative), outNative.length);
          assert.deepEqual(outNative, outJs, `RTCP ${i}`);
          const separate = Buffer.alloc(rtcp.length);
          assert.equal(rx.native.unprotectRtcp(outNative, separate), rtcp.length);
          assert.deepEqual(separate, rtcp);
          assert.equal(rx.js.unprotectRtcp(outJs), rtcp.length);
        }
      });
    }

    it(`${name}: a tampered packet fails natively as in JavaScript and is left untouched`, () => {
      const keys = deriveSessionKeys(profile, randomBytes(16), randomBytes(saltBytes));
      const tx = sessions(profile, keys);
      for (let i = 0; i < 50; i++) {
        const packet = randomRtp(1000 + i, 0x1234);
        const sealed = Buffer.alloc(packet.length + tx.native.rtpOverheadBytes);
        tx.native.protectRtp(packet, sealed);
        const at = randomInt(0, sealed.length);
        sealed[at] = sealed[at]! ^ (1 << randomInt(0, 8));
        const before = Buffer.from(sealed);
        const rx = sessions(profile, keys);
        const native = rx.native.unprotectRtp(sealed);
        assert.deepEqual(sealed, before, 'input untouched');
        const js = rx.js.unprotectRtp(Buffer.from(sealed));
        // A flipped header bit may make it malformed or too short first; both sides agree.
        assert.equal(native, js, `byte ${at}`);
        assert.equal(typeof native, 'string');
      }
      const rtcp = randomRtcp(0x1234);
      const sealed = Buffer.alloc(rtcp.length + tx.native.rtcpOverheadBytes);
      tx.native.protectRtcp(rtcp, sealed);
      sealed[12] = sealed[12]! ^ 1;
      const before = Buffer.from(sealed);
      assert.equal(sessions(profile, keys).native.unprotectRtcp(sealed), 'auth_failed');
      assert.deepEqual(sealed, before);
    });
  }

  it('refuses out-of-bounds offsets with an exception, never touching memory outside the buffers', () => {
    const addon = nativeAddon()!;
    const z = (n: number) => Buffer.alloc(n);
    for (const profile of [SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM]) {
      const salt = z(profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14);
      const s = addon.createSession(profile, z(16), salt, z(20), z(16), salt, z(20));
      const buf = z(100);
      assert.throws(() => addon.sealRtp(s, buf, 12, 95, 1, 0, 1), RangeError, 'no room for the tag');
      assert.throws(() => addon.sealRtp(s, buf, 50, 40, 1, 0, 1), RangeError, 'header past the end');
      assert.throws(() => addon.openRtp(s, z(5), 0, buf, 1, 0, 1), RangeError, 'shorter than a tag');
      assert.throws(() => addon.openRtp(s, buf, 12, z(10), 1, 0, 1), RangeError, 'output too small');
      assert.throws(() => addon.openRtpHeader!(s, z(11), 0, buf, 0), RangeError, 'no RTP header');
      assert.throws(() => addon.openRtpHeader!(s, buf, 12, z(10), 0), RangeError, 'output too small');
      assert.throws(() => addon.sealRtcp(s, buf, 90, 1, 1), RangeError);
      assert.throws(() => addon.openRtcp(s, z(12), buf, 1, 1, true), RangeError);
      assert.throws(() => addon.sealRtp({} as never, buf, 12, 20, 1, 0, 1), TypeError, 'not a session');
    }
    assert.throws(
      () => addon.createSession(3, z(16), z(14), z(20), z(16), z(14), z(20)),
      RangeError,
      'unknown profile',
    );
    assert.throws(
      () => addon.createSession(1, z(15), z(14), z(20), z(16), z(14), z(20)),
      RangeError,
      'bad key length',
    );
  });

  it('encodes IP literals and refuses names', () => {
    const addon = nativeAddon()!;
    const out = new Uint8Array(16);
    assert.equal(addon.encodeAddress('127.0.0.1', out), 4);
    assert.deepEqual([...out.subarray(0, 4)], [127, 0, 0, 1]);
    assert.equal(addon.encodeAddress('::1', out), 6);
    assert.equal(out[15], 1);
    assert.equal(addon.encodeAddress('localhost', out), 0);
    assert.equal(addon.encodeAddress('fe80::1%eth0', out), 0);
    assert.equal(addon.socketInfo(-1), null);
    assert.equal(addon.socketInfo(0), null, 'stdin is not a UDP socket');
  });
});
