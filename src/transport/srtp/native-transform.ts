import type { NativeAddon, NativeSessionHandle } from './native-addon.ts';
import {
  type SessionKeySet,
  SRTCP_INDEX_BYTES,
  SrtpProfile,
  type SrtpProfileId,
  type SrtpTransform,
} from './profiles.ts';

const HMAC_TAG_BYTES = 10;
const GCM_TAG_BYTES = 16;

/**
 * Both profiles (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM) in the native addon: one OpenSSL
 * context per direction kept for the session's life, so a 1.2 kB packet costs well under a
 * microsecond instead of Node's per-call crypto overhead. Same bytes as AesCmTransform and
 * GcmTransform (checked against the RFC vectors and against them on random packets).
 */
export class NativeSrtpTransform implements SrtpTransform {
  readonly rtpTagBytes: number;
  readonly rtcpTrailerBytes: number;
  readonly #addon: NativeAddon;
  readonly #session: NativeSessionHandle;
  readonly #gcm: boolean;
  readonly #sealsFromHeader: boolean;

  constructor(addon: NativeAddon, profile: SrtpProfileId, keys: SessionKeySet) {
    this.#addon = addon;
    this.#gcm = profile === SrtpProfile.AEAD_AES_128_GCM;
    this.#sealsFromHeader = typeof addon.sealRtpHeader === 'function';
    const tag = this.#gcm ? GCM_TAG_BYTES : HMAC_TAG_BYTES;
    this.rtpTagBytes = tag;
    this.rtcpTrailerBytes = tag + SRTCP_INDEX_BYTES;
    this.#session = addon.createSession(
      profile,
      keys.rtp.cipherKey,
      keys.rtp.salt,
      keys.rtp.authKey,
      keys.rtcp.cipherKey,
      keys.rtcp.salt,
      keys.rtcp.authKey,
    );
  }

  sealRtp(out: Buffer, headerBytes: number, end: number, ssrc: number, roc: number, seq: number): number {
    // The SSRC and sequence number are the header's (SrtpSession reads them there): the addon
    // reads them itself when it can, and no number above 2^30 is passed.
    if (this.#sealsFromHeader) return this.#addon.sealRtpHeader!(this.#session, out, headerBytes, end, roc);
    return this.#addon.sealRtp(this.#session, out, headerBytes, end, ssrc, roc, seq);
  }

  openRtp(
    packet: Buffer,
    headerBytes: number,
    out: Buffer,
    ssrc: number,
    roc: number,
    seq: number,
  ): number | 'auth_failed' {
    const n = this.#addon.openRtp(this.#session, packet, headerBytes, out, ssrc, roc, seq);
    return n < 0 ? 'auth_failed' : n;
  }

  sealRtcp(out: Buffer, end: number, ssrc: number, index: number): number {
    return this.#addon.sealRtcp(this.#session, out, end, ssrc, index);
  }

  rtcpIndexOffset(length: number): number {
    return this.#gcm ? length - SRTCP_INDEX_BYTES : length - HMAC_TAG_BYTES - SRTCP_INDEX_BYTES;
  }

  openRtcp(
    packet: Buffer,
    out: Buffer,
    ssrc: number,
    index: number,
    encrypted: boolean,
  ): number | 'auth_failed' {
    const n = this.#addon.openRtcp(this.#session, packet, out, ssrc, index, encrypted);
    return n < 0 ? 'auth_failed' : n;
  }
}
