import {
  type Cipheriv as Cipher,
  createCipheriv,
  createDecipheriv,
  createHash,
  timingSafeEqual,
} from 'node:crypto';
import { deriveKey, Label } from './key-derivation.ts';
import { ReplayWindow, RocTracker } from './roc.ts';

/** SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2). */
export const SrtpProfile = { AES_CM_128_HMAC_SHA1_80: 0x0001, AEAD_AES_128_GCM: 0x0007 } as const;
export type SrtpProfileId = (typeof SrtpProfile)[keyof typeof SrtpProfile];

const HMAC_TAG_BYTES = 10;
const GCM_TAG_BYTES = 16;
const SRTCP_INDEX_BYTES = 4;
const E_FLAG = 0x80000000;

/** Why unprotect failed; the packet is dropped and counted by the caller. */
export type SrtpFailure = 'too_short' | 'auth_failed' | 'replayed';

interface Keys {
  cipherKey: Buffer;
  salt: Buffer;
  /** HMAC-SHA1 key XOR ipad / opad (RFC 2104), precomputed: createHmac costs ~10 µs a call. */
  innerPad: Buffer;
  outerPad: Buffer;
}

/**
 * One direction of SRTP/SRTCP (RFC 3711, RFC 7714) with one master key: `protect*` for what we send,
 * `unprotect*` for what we receive (use two sessions per transport). Per-SSRC rollover counters
 * and replay windows are kept here.
 */
export class SrtpSession {
  readonly profile: SrtpProfileId;
  readonly #rtp: Keys;
  readonly #rtcp: Keys;
  /** AES-CM only: a persistent ECB cipher makes the keystream (no cipher object per packet). */
  readonly #rtpEcb: Cipher | undefined;
  readonly #rtcpEcb: Cipher | undefined;
  readonly #counterBlocks = Buffer.alloc(16 * MAX_BLOCKS);
  readonly #rocBytes = Buffer.alloc(4);
  readonly #rocs = new Map<number, RocTracker>();
  readonly #rtpReplay = new Map<number, ReplayWindow>();
  readonly #rtcpReplay = new Map<number, ReplayWindow>();
  readonly #rtcpIndex = new Map<number, number>();

  constructor(profile: SrtpProfileId, masterKey: Buffer, masterSalt: Buffer) {
    this.profile = profile;
    const saltBytes = profile === SrtpProfile.AEAD_AES_128_GCM ? 12 : 14;
    const keys = (cipher: number, auth: number, salt: number): Keys => {
      const authKey = deriveKey(masterKey, masterSalt, auth, 20);
      return {
        cipherKey: deriveKey(masterKey, masterSalt, cipher, 16),
        salt: deriveKey(masterKey, masterSalt, salt, saltBytes),
        innerPad: pad(authKey, 0x36),
        outerPad: pad(authKey, 0x5c),
      };
    };
    this.#rtp = keys(Label.RtpCipher, Label.RtpAuth, Label.RtpSalt);
    this.#rtcp = keys(Label.RtcpCipher, Label.RtcpAuth, Label.RtcpSalt);
    if (profile === SrtpProfile.AES_CM_128_HMAC_SHA1_80) {
      this.#rtpEcb = ecb(this.#rtp.cipherKey);
      this.#rtcpEcb = ecb(this.#rtcp.cipherKey);
    }
  }

  /** Encrypts an RTP packet whose header ends at `headerBytes`; returns a new buffer. */
  protectRtp(packet: Buffer, headerBytes: number): Buffer {
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const roc = this.#roc(ssrc).forSend(seq);
    if (this.profile === SrtpProfile.AEAD_AES_128_GCM) {
      const cipher = createCipheriv('aes-128-gcm', this.#rtp.cipherKey, this.#rtpGcmIv(ssrc, roc, seq));
      cipher.setAAD(packet.subarray(0, headerBytes));
      const body = cipher.update(packet.subarray(headerBytes));
      cipher.final();
      return Buffer.concat([packet.subarray(0, headerBytes), body, cipher.getAuthTag()]);
    }
    const out = Buffer.allocUnsafe(packet.length + HMAC_TAG_BYTES);
    packet.copy(out);
    this.#ctrXor(this.#rtpEcb!, this.#rtp.salt, ssrc, roc * 0x10000 + seq, out, headerBytes, packet.length);
    this.#rtpTag(out, packet.length, roc).copy(out, packet.length);
    return out;
  }

  /** Decrypts an SRTP packet; returns the RTP packet or why it was refused. */
  unprotectRtp(packet: Buffer, headerBytes: number): Buffer | SrtpFailure {
    const gcm = this.profile === SrtpProfile.AEAD_AES_128_GCM;
    const tagBytes = gcm ? GCM_TAG_BYTES : HMAC_TAG_BYTES;
    if (packet.length < headerBytes + tagBytes) return 'too_short';
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const tracker = this.#roc(ssrc);
    const roc = tracker.estimate(seq);
    const index = roc * 0x10000 + seq;
    const replay = getOrCreate(this.#rtpReplay, ssrc, () => new ReplayWindow());
    if (!replay.check(index)) return 'replayed';
    const end = packet.length - tagBytes;
    let out: Buffer;
    if (gcm) {
      const decipher = createDecipheriv('aes-128-gcm', this.#rtp.cipherKey, this.#rtpGcmIv(ssrc, roc, seq));
      decipher.setAAD(packet.subarray(0, headerBytes));
      decipher.setAuthTag(packet.subarray(end));
      const body = decipher.update(packet.subarray(headerBytes, end));
      try {
        decipher.final();
      } catch {
        return 'auth_failed';
      }
      out = Buffer.concat([packet.subarray(0, headerBytes), body]);
    } else {
      const tag = this.#rtpTag(packet, end, roc);
      if (!timingSafeEqual(tag, packet.subarray(end))) return 'auth_failed';
      out = Buffer.from(packet.subarray(0, end));
      this.#ctrXor(this.#rtpEcb!, this.#rtp.salt, ssrc, index, out, headerBytes, end);
    }
    tracker.update(roc, seq);
    replay.accept(index);
    return out;
  }

  /** Encrypts an RTCP compound packet (RFC 3711 §3.4); returns a new buffer. */
  protectRtcp(packet: Buffer): Buffer {
    const ssrc = packet.readUInt32BE(4);
    const index = ((this.#rtcpIndex.get(ssrc) ?? 0) + 1) & 0x7fffffff;
    this.#rtcpIndex.set(ssrc, index);
    const eIndex = (E_FLAG | index) >>> 0;
    if (this.profile === SrtpProfile.AEAD_AES_128_GCM) {
      const trailer = Buffer.alloc(SRTCP_INDEX_BYTES);
      trailer.writeUInt32BE(eIndex);
      const cipher = createCipheriv('aes-128-gcm', this.#rtcp.cipherKey, this.#rtcpGcmIv(ssrc, index));
      cipher.setAAD(Buffer.concat([packet.subarray(0, 8), trailer]));
      const body = cipher.update(packet.subarray(8));
      cipher.final();
      return Buffer.concat([packet.subarray(0, 8), body, cipher.getAuthTag(), trailer]);
    }
    const out = Buffer.allocUnsafe(packet.length + SRTCP_INDEX_BYTES + HMAC_TAG_BYTES);
    packet.copy(out);
    this.#ctrXor(this.#rtcpEcb!, this.#rtcp.salt, ssrc, index, out, 8, packet.length);
    out.writeUInt32BE(eIndex, packet.length);
    const tagAt = packet.length + SRTCP_INDEX_BYTES;
    hmacSha1(this.#rtcp, out.subarray(0, tagAt)).copy(out, tagAt, 0, HMAC_TAG_BYTES);
    return out;
  }

  unprotectRtcp(packet: Buffer): Buffer | SrtpFailure {
    const gcm = this.profile === SrtpProfile.AEAD_AES_128_GCM;
    const tagBytes = gcm ? GCM_TAG_BYTES : HMAC_TAG_BYTES;
    if (packet.length < 8 + SRTCP_INDEX_BYTES + tagBytes) return 'too_short';
    const ssrc = packet.readUInt32BE(4);
    const indexAt = gcm
      ? packet.length - SRTCP_INDEX_BYTES
      : packet.length - HMAC_TAG_BYTES - SRTCP_INDEX_BYTES;
    const eIndex = packet.readUInt32BE(indexAt);
    const index = eIndex & 0x7fffffff;
    const encrypted = (eIndex & E_FLAG) !== 0;
    const replay = getOrCreate(this.#rtcpReplay, ssrc, () => new ReplayWindow());
    if (!replay.check(index)) return 'replayed';
    let out: Buffer;
    if (gcm) {
      const tagAt = indexAt - GCM_TAG_BYTES;
      const decipher = createDecipheriv('aes-128-gcm', this.#rtcp.cipherKey, this.#rtcpGcmIv(ssrc, index));
      decipher.setAAD(Buffer.concat([packet.subarray(0, 8), packet.subarray(indexAt)]));
      decipher.setAuthTag(packet.subarray(tagAt, indexAt));
      const body = decipher.update(packet.subarray(8, tagAt));
      try {
        decipher.final();
      } catch {
        return 'auth_failed';
      }
      out = Buffer.concat([packet.subarray(0, 8), body]);
    } else {
      const tagAt = packet.length - HMAC_TAG_BYTES;
      const tag = hmacSha1(this.#rtcp, packet.subarray(0, tagAt)).subarray(0, HMAC_TAG_BYTES);
      if (!timingSafeEqual(tag, packet.subarray(tagAt))) return 'auth_failed';
      out = Buffer.from(packet.subarray(0, indexAt));
      if (encrypted) this.#ctrXor(this.#rtcpEcb!, this.#rtcp.salt, ssrc, index, out, 8, indexAt);
    }
    replay.accept(index);
    return out;
  }

  #roc(ssrc: number): RocTracker {
    return getOrCreate(this.#rocs, ssrc, () => new RocTracker());
  }

  /** HMAC-SHA1 over the packet and the rollover counter, truncated to 80 bits (RFC 3711 §4.2). */
  #rtpTag(packet: Buffer, end: number, roc: number): Buffer {
    this.#rocBytes.writeUInt32BE(roc >>> 0);
    return hmacSha1(this.#rtp, packet.subarray(0, end), this.#rocBytes).subarray(0, HMAC_TAG_BYTES);
  }

  /**
   * AES counter mode (RFC 3711 §4.1.1) over `buf[from..to]` in place: IV = salt ⊕ SSRC·2^64 ⊕
   * index·2^16; the keystream of all blocks comes from one ECB `update()`.
   */
  #ctrXor(
    ecbCipher: Cipher,
    salt: Buffer,
    ssrc: number,
    index: number,
    buf: Buffer,
    from: number,
    to: number,
  ): void {
    const bytes = to - from;
    if (bytes <= 0) return;
    const blocks = Math.ceil(bytes / 16);
    const counters =
      blocks <= MAX_BLOCKS ? this.#counterBlocks.subarray(0, blocks * 16) : Buffer.alloc(blocks * 16);
    const iv = counters.subarray(0, 16);
    iv.fill(0);
    salt.copy(iv, 0, 0, 14);
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    const high = Math.floor(index / 0x100000000);
    iv.writeUInt16BE(iv.readUInt16BE(8) ^ (high & 0xffff), 8);
    iv.writeUInt32BE((iv.readUInt32BE(10) ^ (index >>> 0)) >>> 0, 10);
    fillCounterBlocks(counters, blocks);
    const keystream = ecbCipher.update(counters);
    xorInto(buf, from, keystream, bytes);
  }

  /** RFC 7714 §8.1: IV = (0⁠¹⁶ ‖ SSRC ‖ ROC ‖ SEQ) ⊕ salt. */
  #rtpGcmIv(ssrc: number, roc: number, seq: number): Buffer {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc >>> 0, 2);
    iv.writeUInt32BE(roc >>> 0, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) iv[i] = iv[i]! ^ this.#rtp.salt[i]!;
    return iv;
  }

  /** RFC 7714 §9.1: IV = (0¹⁶ ‖ SSRC ‖ 0¹⁶ ‖ 0 ‖ index) ⊕ salt. */
  #rtcpGcmIv(ssrc: number, index: number): Buffer {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc >>> 0, 2);
    iv.writeUInt32BE(index & 0x7fffffff, 8);
    for (let i = 0; i < 12; i++) iv[i] = iv[i]! ^ this.#rtcp.salt[i]!;
    return iv;
  }
}

const MAX_BLOCKS = 96;

/**
 * Blocks 1… of the counter: the IV (block 0) with the block number in bytes 14–15, which are zero
 * in the IV (salt and index end at byte 13). Written as 32-bit words (host byte order).
 */
function fillCounterBlocks(counters: Buffer, blocks: number): void {
  const words = new Uint32Array(counters.buffer, counters.byteOffset, blocks * 4);
  const [w0, w1, w2, w3] = [words[0]!, words[1]!, words[2]!, words[3]!];
  const little = LITTLE_ENDIAN;
  for (let b = 1; b < blocks; b++) {
    const at = b * 4;
    words[at] = w0;
    words[at + 1] = w1;
    words[at + 2] = w2;
    words[at + 3] = little
      ? (w3 | (((b >>> 8) & 0xff) << 16) | ((b & 0xff) << 24)) >>> 0
      : (w3 | (b & 0xffff)) >>> 0;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** buf[from..from+bytes] ^= keystream, by 32-bit words when both are 4-byte aligned. */
function xorInto(buf: Buffer, from: number, keystream: Buffer, bytes: number): void {
  let i = 0;
  if ((buf.byteOffset + from) % 4 === 0 && keystream.byteOffset % 4 === 0) {
    const words = bytes >>> 2;
    const a = new Uint32Array(buf.buffer, buf.byteOffset + from, words);
    const k = new Uint32Array(keystream.buffer, keystream.byteOffset, words);
    for (let w = 0; w < words; w++) a[w] = a[w]! ^ k[w]!;
    i = words * 4;
  }
  for (; i < bytes; i++) buf[from + i] = buf[from + i]! ^ keystream[i]!;
}

function pad(key: Buffer, byte: number): Buffer {
  const block = Buffer.alloc(64, byte);
  for (let i = 0; i < key.length; i++) block[i] = block[i]! ^ key[i]!;
  return block;
}

/** RFC 2104 HMAC from two SHA-1 hashes (createHash is ~5× cheaper than createHmac in Node 24). */
function hmacSha1(keys: Keys, data: Buffer, trailer?: Buffer): Buffer {
  const inner = createHash('sha1').update(keys.innerPad).update(data);
  if (trailer) inner.update(trailer);
  return createHash('sha1').update(keys.outerPad).update(inner.digest()).digest();
}

function ecb(key: Buffer): Cipher {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = create();
    map.set(key, v);
  }
  return v;
}
