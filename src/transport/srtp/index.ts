// transport/srtp: SRTP/SRTCP (RFC 3711, RFC 7714) with AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM, one SrtpSession per direction.

export { deriveKey, Label } from './key-derivation.ts';
export { deriveSessionKeys, type SessionKeys, saltBytes } from './profiles.ts';
export {
  type SessionKeySet,
  type SrtpFailure,
  type SrtpImplementation,
  SrtpProfile,
  type SrtpProfileId,
  SrtpSession,
} from './srtp-session.ts';
