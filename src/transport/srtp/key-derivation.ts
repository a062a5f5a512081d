import { createCipheriv } from 'node:crypto';

/** RFC 3711 §4.3.3 key derivation labels. */
export const Label = {
  RtpCipher: 0,
  RtpAuth: 1,
  RtpSalt: 2,
  RtcpCipher: 3,
  RtcpAuth: 4,
  RtcpSalt: 5,
} as const;

/**
 * The AES-CM PRF of RFC 3711 §4.3.1 (key derivation rate 0): the master salt, with the label
 * XORed into byte 7, is the counter-mode IV; the session key is the keystream. RFC 7714 §11 uses
 * the same function with a 96-bit master salt.
 */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, Math.min(masterSalt.length, 14));
  iv[7] = iv[7]! ^ label;
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}
