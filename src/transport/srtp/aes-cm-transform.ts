import { AesCmCipher } from './aes-cm.ts';
import { HmacSha1 } from './hmac-sha1.ts';
import {
  copyUnlessSame,
  type SessionKeySet,
  SRTCP_E_FLAG,
  SRTCP_INDEX_BYTES,
  type SrtpTransform,
} from './profiles.ts';

const TAG_BYTES = 10;
const RTCP_HEADER_BYTES = 8;

/**
 * AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2.1; RFC 5764 §4.1.2): AES counter mode over the
 * payload, then an 80-bit HMAC-SHA1 tag over the packet and the ROC (SRTP) or the E flag + index
 * (SRTCP). Authentication is checked before anything is decrypted.
 */
export class AesCmTransform implements SrtpTransform {
  readonly rtpTagBytes = TAG_BYTES;
  readonly rtcpTrailerBytes = SRTCP_INDEX_BYTES + TAG_BYTES;
  readonly #rtpCipher: AesCmCipher;
  readonly #rtcpCipher: AesCmCipher;
  readonly #rtpAuth: HmacSha1;
  readonly #rtcpAuth: HmacSha1;

  constructor(keys: SessionKeySet) {
    this.#rtpCipher = new AesCmCipher(keys.rtp.cipherKey, keys.rtp.salt);
    this.#rtcpCipher = new AesCmCipher(keys.rtcp.cipherKey, keys.rtcp.salt);
    this.#rtpAuth = new HmacSha1(keys.rtp.authKey);
    this.#rtcpAuth = new HmacSha1(keys.rtcp.authKey);
  }

  sealRtp(out: Buffer, headerBytes: number, end: number, roc: number): number {
    this.#rtpCipher.xor(out, headerBytes, end, out.readUInt32BE(8), roc * 0x10000 + out.readUInt16BE(2));
    this.#rtpAuth.sign(out, 0, end, roc, out, end, TAG_BYTES);
    return end + TAG_BYTES;
  }

  openRtp(packet: Buffer, headerBytes: number, out: Buffer, roc: number): number | 'auth_failed' {
    const end = packet.length - TAG_BYTES;
    if (!this.#rtpAuth.verify(packet, 0, end, roc, packet.subarray(end))) return 'auth_failed';
    copyUnlessSame(packet, out, 0, end);
    this.#rtpCipher.xor(out, headerBytes, end, out.readUInt32BE(8), roc * 0x10000 + out.readUInt16BE(2));
    return end;
  }

  sealRtcp(out: Buffer, end: number, ssrc: number, index: number): number {
    this.#rtcpCipher.xor(out, RTCP_HEADER_BYTES, end, ssrc, index);
    out.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, end);
    const tagAt = end + SRTCP_INDEX_BYTES;
    this.#rtcpAuth.sign(out, 0, tagAt, -1, out, tagAt, TAG_BYTES);
    return tagAt + TAG_BYTES;
  }

  rtcpIndexOffset(length: number): number {
    return length - TAG_BYTES - SRTCP_INDEX_BYTES;
  }

  openRtcp(
    packet: Buffer,
    out: Buffer,
    ssrc: number,
    index: number,
    encrypted: boolean,
  ): number | 'auth_failed' {
    const tagAt = packet.length - TAG_BYTES;
    if (!this.#rtcpAuth.verify(packet, 0, tagAt, -1, packet.subarray(tagAt))) return 'auth_failed';
    const end = tagAt - SRTCP_INDEX_BYTES;
    copyUnlessSame(packet, out, 0, end);
    if (encrypted) this.#rtcpCipher.xor(out, RTCP_HEADER_BYTES, end, ssrc, index);
    return end;
  }
}
