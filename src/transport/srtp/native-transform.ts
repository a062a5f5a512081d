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
  readonly #opensFromHeader: boolean;

  constructor(addon: NativeAddon, profile: SrtpProfileId, keys: SessionKeySet) {
    this.#addon = addon;
    this.#gcm = profile === SrtpProfile.AEAD_AES_128_GCM;
    this.#sealsFromHeader = typeof addon.sealRtpHeader === 'function';
    this.#opensFromHeader = typeof addon.openRtpHeader === 'function';
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

  sealRtp(out: Buffer, headerBytes: number, end: number, roc: number): number {
    // The addon reads the SSRC and sequence number from the header when it can: no number above
    // 2^31 is passed. Older builds are given them.
    if (this.#sealsFromHeader) return this.#addon.sealRtpHeader!(this.#session, out, headerBytes, end, roc);
    return this.#addon.sealRtp(
      this.#session,
      out,
      headerBytes,
      end,
      out.readUInt32BE(8),
      roc,
      out.readUInt16BE(2),
    );
  }

  openRtp(packet: Buffer, headerBytes: number, out: Buffer, roc: number): number | 'auth_failed' {
    const n = this.#opensFromHeader
      ? this.#addon.openRtpHeader!(this.#session, packet, headerBytes, out, roc)
      : this.#addon.openRtp(
          this.#session,
          packet,
          headerBytes,
          out,
          packet.readUInt32BE(8),
          roc,
          packet.readUInt16BE(2),
        );
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
