import { deriveKey, Label } from './key-derivation.ts';

/** SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2). */
export const SrtpProfile = { AES_CM_128_HMAC_SHA1_80: 0x0001, AEAD_AES_128_GCM: 0x0007 } as const;
export type SrtpProfileId = (typeof SrtpProfile)[keyof typeof SrtpProfile];

/** Why protect/unprotect refused a packet; the caller drops and counts it. */
export type SrtpFailure = 'too_short' | 'malformed' | 'auth_failed' | 'replayed' | 'out_too_small';

/** The keys of one direction of SRTP or SRTCP (RFC 3711 §4.3). */
export interface SessionKeys {
  cipherKey: Buffer;
  salt: Buffer;
  /** HMAC-SHA1 key (AES-CM profiles); empty for AEAD. */
  authKey: Buffer;
}

export interface SessionKeySet {
  rtp: SessionKeys;
  rtcp: SessionKeys;
}

/** Salt length: 112 bits for AES-CM (RFC 3711 §8.2), 96 bits for AES-GCM (RFC 7714 §12). */
export function saltBytes(profile: SrtpProfileId): number {
  return profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
}

/** Session keys from a master key and salt (RFC 3711 §4.3.1, RFC 7714 §11), key derivation rate 0. */
export function deriveSessionKeys(
  profile: SrtpProfileId,
  masterKey: Buffer,
  masterSalt: Buffer,
): SessionKeySet {
  const gcm = profile === SrtpProfile.AEAD_AES_128_GCM;
  const keys = (cipher: number, auth: number, salt: number): SessionKeys => ({
    cipherKey: deriveKey(masterKey, masterSalt, cipher, masterKey.length),
    salt: deriveKey(masterKey, masterSalt, salt, saltBytes(profile)),
    authKey: gcm ? Buffer.alloc(0) : deriveKey(masterKey, masterSalt, auth, 20),
  });
  return {
    rtp: keys(Label.RtpCipher, Label.RtpAuth, Label.RtpSalt),
    rtcp: keys(Label.RtcpCipher, Label.RtcpAuth, Label.RtcpSalt),
  };
}

/**
 * One profile's packet transform. `seal*` work in place on out[0..end) (the plain packet) and
 * append their trailer; `open*` authenticate `packet` first and write the plain packet to `out`
 * only when it is genuine (`out` may be `packet` itself). Both return the resulting length. The RTP
 * ones take the SSRC and sequence number from the packet's header (in JavaScript an SSRC above
 * 2^31 is a heap number: passed as an argument, it would be allocated per packet).
 */
export interface SrtpTransform {
  readonly rtpTagBytes: number;
  /** SRTCP bytes after the RTCP compound: E flag + index and the tag. */
  readonly rtcpTrailerBytes: number;
  sealRtp(out: Buffer, headerBytes: number, end: number, roc: number): number;
  openRtp(packet: Buffer, headerBytes: number, out: Buffer, roc: number): number | 'auth_failed';
  sealRtcp(out: Buffer, end: number, ssrc: number, index: number): number;
  /** Offset of the E flag + SRTCP index word in an SRTCP packet of `length` bytes. */
  rtcpIndexOffset(length: number): number;
  openRtcp(
    packet: Buffer,
    out: Buffer,
    ssrc: number,
    index: number,
    encrypted: boolean,
  ): number | 'auth_failed';
}

/** SRTCP's E flag (RFC 3711 §3.4): set when the compound is encrypted. */
export const SRTCP_E_FLAG = 0x80000000;
export const SRTCP_INDEX_BYTES = 4;

/** Copies packet[from..to) to out at the same offsets unless both are the same memory. */
export function copyUnlessSame(packet: Buffer, out: Buffer, from: number, to: number): void {
  if (packet.buffer === out.buffer && packet.byteOffset === out.byteOffset) return;
  packet.copy(out, from, from, to);
}
