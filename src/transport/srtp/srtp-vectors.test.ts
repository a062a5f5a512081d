import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { deriveKey, Label } from './key-derivation.ts';
import { nativeAddon } from './native-addon.ts';
import { deriveSessionKeys, SrtpProfile } from './profiles.ts';
import { type SrtpImplementation, SrtpSession } from './srtp-session.ts';

/** JavaScript always; the native addon too where it is built (native-srtp.test.ts builds it). */
const IMPLEMENTATIONS: SrtpImplementation[] = nativeAddon() ? ['js', 'native'] : ['js'];

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('SRTP key derivation (RFC 3711 Appendix B)', () => {
  it('B.2: the AES-CM PRF keystream', () => {
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
    const upper = (b: Buffer) => b.toString('hex').toUpperCase();
    assert.equal(upper(deriveKey(key, salt, Label.RtpCipher, 16)), 'C61E7A93744F39EE10734AFE3FF7A087');
    assert.equal(upper(deriveKey(key, salt, Label.RtpSalt, 14)), '30CBBC08863D8C85D49DB34A9AE1');
    assert.equal(upper(deriveKey(key, salt, Label.RtpAuth, 20)), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
    const session = deriveSessionKeys(SrtpProfile.AES_CM_128_HMAC_SHA1_80, key, salt);
    assert.equal(upper(session.rtp.cipherKey), 'C61E7A93744F39EE10734AFE3FF7A087');
    assert.equal(upper(session.rtp.salt), '30CBBC08863D8C85D49DB34A9AE1');
    assert.equal(upper(session.rtp.authKey), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  });
});

// RFC 7714 §16–17 state session keys (key derivation is pinned by B.3 above).
const GCM_KEY = hex('000102030405060708090a0b0c0d0e0f');
const GCM_SALT = hex('517569642070726f2071756f');
const GCM_KEYS = {
  rtp: { cipherKey: GCM_KEY, salt: GCM_SALT, authKey: Buffer.alloc(0) },
  rtcp: { cipherKey: GCM_KEY, salt: GCM_SALT, authKey: Buffer.alloc(0) },
};
let impl: SrtpImplementation = 'js';
const gcmSession = () => new SrtpSession(SrtpProfile.AEAD_AES_128_GCM, GCM_KEY, GCM_SALT, GCM_KEYS, impl);

/** §16.1: SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b, payload "Gallia est omnis divisa in partes tres". */
const RTP = hex(`8040f17b8041f8d35501a0b2
  47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573`);
const SRTP_16_1 = hex(`8040f17b8041f8d35501a0b2
  f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833
  899d7f27beb16a9152cf765ee4390cce`);
/** §17: an SR from SSRC "Mars", SRTCP index 0x5d4. */
const RTCP = hex(`81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
  deadbeefdeadbeefdeadbeefdeadbeefdeadbeef`);
const SRTCP_17_1 = hex(`81c8000d4d617273
  63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa458
  96cf4d2fc5abf87245d9eade 800005d4`);
const SRTCP_17_3_TAG_ONLY = hex(`81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
  deadbeefdeadbeefdeadbeefdeadbeefdeadbeef 841dd9683dd78ec92ae58790125f62b3 000005d4`);

for (const implementation of IMPLEMENTATIONS)
  describe(`AEAD_AES_128_GCM (RFC 7714 test vectors, ${implementation})`, () => {
    beforeEach(() => {
      impl = implementation;
    });

    it('§16.1: protects the RTP packet to the exact SRTP bytes, and back', () => {
      const out = Buffer.alloc(RTP.length + 16);
      assert.equal(gcmSession().protectRtp(RTP, out), SRTP_16_1.length);
      assert.deepEqual(out, SRTP_16_1);
      const inPlace = Buffer.from(SRTP_16_1);
      assert.equal(gcmSession().unprotectRtp(inPlace), RTP.length);
      assert.deepEqual(inPlace.subarray(0, RTP.length), RTP);
    });

    it('§17.1: unprotects the SRTCP packet, and protects to the same bytes at index 0x5d4', () => {
      const inPlace = Buffer.from(SRTCP_17_1);
      assert.equal(gcmSession().unprotectRtcp(inPlace), RTCP.length);
      assert.deepEqual(inPlace.subarray(0, RTCP.length), RTCP);
      const sender = gcmSession();
      const out = Buffer.alloc(RTCP.length + sender.rtcpOverheadBytes);
      for (let index = 1; index < 0x5d4; index++) sender.protectRtcp(RTCP, out);
      assert.equal(sender.protectRtcp(RTCP, out), SRTCP_17_1.length);
      assert.deepEqual(out, SRTCP_17_1);
    });

    it('§17.3: an SRTCP packet with E = 0 is authenticated, not encrypted', () => {
      const inPlace = Buffer.from(SRTCP_17_3_TAG_ONLY);
      assert.equal(gcmSession().unprotectRtcp(inPlace), RTCP.length);
      assert.deepEqual(inPlace.subarray(0, RTCP.length), RTCP);
      const forged = Buffer.from(SRTCP_17_3_TAG_ONLY);
      forged[20] = forged[20]! ^ 1;
      assert.equal(gcmSession().unprotectRtcp(forged), 'auth_failed');
    });
  });
