import { rtpHeaderBytes } from '../../rtp/rtp-packet.ts';
import { ssrcKey } from '../../rtp/ssrc-key.ts';
import { AesCmTransform } from './aes-cm-transform.ts';
import { GcmTransform } from './gcm-transform.ts';
import { nativeAddon } from './native-addon.ts';
import { NativeSrtpTransform } from './native-transform.ts';
import {
  copyUnlessSame,
  deriveSessionKeys,
  type SessionKeySet,
  SRTCP_E_FLAG,
  type SrtpFailure,
  SrtpProfile,
  type SrtpProfileId,
  type SrtpTransform,
} from './profiles.ts';
import { ReplayWindow, RocTracker } from './roc.ts';

export { type SessionKeySet, type SrtpFailure, SrtpProfile, type SrtpProfileId } from './profiles.ts';

export type SrtpImplementation = 'native' | 'js';

const RTCP_MIN_BYTES = 8;
const SRTCP_INDEX_MASK = 0x7fffffff;

/** What one SSRC needs: its rollover counter, replay windows and our SRTCP index. */
class StreamState {
  readonly roc = new RocTracker();
  readonly rtpReplay = new ReplayWindow();
  readonly rtcpReplay = new ReplayWindow();
  rtcpIndex = 0;
}

/**
 * One direction of SRTP/SRTCP (RFC 3711, RFC 7714) with one master key: `protect*` for what we
 * send, `unprotect*` for what we receive (use two sessions per transport). Per-SSRC state (ROC,
 * replay windows, SRTCP index) lives here; a receiving stream's state is created only once one of
 * its packets authenticates, so forged SSRCs cost nothing.
 *
 * The per-packet methods write into a caller's buffer and return the length written, or why they
 * refused the packet: nothing is allocated for AES-CM beyond what Node's crypto calls return.
 * `out` may be the input's own memory (in place): for unprotect that is the default; for protect,
 * pass `buf.subarray(0, rtpBytes)` as the packet and `buf` (with room for the tag) as `out`.
 */
export class SrtpSession {
  readonly profile: SrtpProfileId;
  /** Where the crypto runs: the native addon (when built, see native-addon.ts) or Node's crypto. */
  readonly implementation: SrtpImplementation;
  /** Bytes protectRtp adds to an RTP packet (the tag). */
  readonly rtpOverheadBytes: number;
  /** Bytes protectRtcp adds to an RTCP compound (E flag + index, and the tag). */
  readonly rtcpOverheadBytes: number;
  readonly #transform: SrtpTransform;
  /** By ssrcKey: an SSRC above 2^31 would be a heap number allocated per look-up. */
  readonly #streams = new Map<number, StreamState>();
  /** The stream looked up last, and its key (a sending session has one or two). */
  #lastKey = 0;
  #lastStream: StreamState | undefined;

  /**
   * `sessionKeys` skips key derivation (test vectors state session keys); the master key is then
   * unused. `implementation` defaults to the native addon when it is loaded, else JavaScript;
   * asking for 'native' without the addon throws.
   */
  constructor(
    profile: SrtpProfileId,
    masterKey: Buffer,
    masterSalt: Buffer,
    sessionKeys?: SessionKeySet,
    implementation?: SrtpImplementation,
  ) {
    this.profile = profile;
    const keys = sessionKeys ?? deriveSessionKeys(profile, masterKey, masterSalt);
    const addon = implementation === 'js' ? undefined : nativeAddon();
    if (implementation === 'native' && !addon)
      throw new Error('native SRTP requested but the addon is not loaded');
    this.implementation = addon ? 'native' : 'js';
    if (addon) this.#transform = new NativeSrtpTransform(addon, profile, keys);
    else
      this.#transform =
        profile === SrtpProfile.AEAD_AES_128_GCM ? new GcmTransform(keys) : new AesCmTransform(keys);
    this.rtpOverheadBytes = this.#transform.rtpTagBytes;
    this.rtcpOverheadBytes = this.#transform.rtcpTrailerBytes;
  }

  /** Encrypts and authenticates an RTP packet into `out` (RFC 3711 §3.3); returns its length. */
  protectRtp(packet: Buffer, out: Buffer): number | SrtpFailure;
  /** @deprecated Allocates; kept for callers of the first API. Returns an empty buffer for a malformed packet. */
  protectRtp(packet: Buffer, headerBytes: number): Buffer;
  protectRtp(packet: Buffer, out: Buffer | number): number | SrtpFailure | Buffer {
    if (typeof out === 'number') {
      const buf = Buffer.allocUnsafe(packet.length + this.rtpOverheadBytes);
      const n = this.protectRtp(packet, buf);
      return typeof n === 'number' ? buf : Buffer.alloc(0);
    }
    const headerBytes = rtpHeaderBytes(packet);
    if (headerBytes < 0) return 'malformed';
    if (out.length < packet.length + this.rtpOverheadBytes) return 'out_too_small';
    copyUnlessSame(packet, out, 0, packet.length);
    return this.#sealRtp(out, headerBytes, packet.length);
  }

  /**
   * Encrypts and authenticates the RTP packet buf[0..length) in place, the tag after it (`buf` has
   * room for it); returns the SRTP length. Same bytes as protectRtp; nothing is copied.
   */
  protectRtpInPlace(buf: Buffer, length: number): number | SrtpFailure {
    const headerBytes = rtpHeaderBytes(buf);
    if (headerBytes < 0 || headerBytes > length) return 'malformed';
    if (buf.length < length + this.rtpOverheadBytes) return 'out_too_small';
    return this.#sealRtp(buf, headerBytes, length);
  }

  #sealRtp(buf: Buffer, headerBytes: number, length: number): number {
    const seq = (buf[2]! << 8) | buf[3]!;
    const roc = this.#stream(ssrcKey(buf, 8)).roc.forSend(seq);
    return this.#transform.sealRtp(buf, headerBytes, length, roc);
  }

  /**
   * Authenticates and decrypts an SRTP packet into `out` (default: in place); returns the RTP
   * packet's length. RFC 3711 §3.3: the index comes from the Appendix A estimate, the replay
   * window is checked before and updated only after authentication.
   */
  unprotectRtp(packet: Buffer, out: Buffer = packet): number | SrtpFailure {
    const headerBytes = rtpHeaderBytes(packet);
    if (headerBytes < 0) return 'malformed';
    if (packet.length < headerBytes + this.rtpOverheadBytes) return 'too_short';
    if (out.length < packet.length - this.rtpOverheadBytes) return 'out_too_small';
    const key = ssrcKey(packet, 8);
    const seq = (packet[2]! << 8) | packet[3]!;
    const stream = this.#streams.get(key);
    const roc = stream ? stream.roc.estimate(seq) : 0;
    const index = roc * 0x10000 + seq;
    if (stream && !stream.rtpReplay.check(index)) return 'replayed';
    const result = this.#transform.openRtp(packet, headerBytes, out, roc);
    if (typeof result === 'string') return result;
    const known = stream ?? this.#stream(key);
    known.roc.update(roc, seq);
    known.rtpReplay.accept(index);
    return result;
  }

  /** Encrypts and authenticates an RTCP compound into `out` (RFC 3711 §3.4); returns its length. */
  protectRtcp(packet: Buffer, out: Buffer): number | SrtpFailure {
    if (packet.length < RTCP_MIN_BYTES || packet[0]! >> 6 !== 2) return 'malformed';
    if (out.length < packet.length + this.rtcpOverheadBytes) return 'out_too_small';
    copyUnlessSame(packet, out, 0, packet.length);
    const ssrc = packet.readUInt32BE(4);
    const stream = this.#stream(ssrcKey(packet, 4));
    // The first index sent is 1, as libsrtp does; receivers accept any start.
    stream.rtcpIndex = (stream.rtcpIndex + 1) & SRTCP_INDEX_MASK;
    return this.#transform.sealRtcp(out, packet.length, ssrc, stream.rtcpIndex);
  }

  /** Authenticates and (when the E flag says so) decrypts an SRTCP packet into `out` (default: in place). */
  unprotectRtcp(packet: Buffer, out: Buffer = packet): number | SrtpFailure {
    if (packet.length < RTCP_MIN_BYTES + this.rtcpOverheadBytes) return 'too_short';
    if (packet[0]! >> 6 !== 2) return 'malformed';
    if (out.length < packet.length - this.rtcpOverheadBytes) return 'out_too_small';
    const ssrc = packet.readUInt32BE(4);
    const word = packet.readUInt32BE(this.#transform.rtcpIndexOffset(packet.length));
    const index = word & SRTCP_INDEX_MASK;
    const key = ssrcKey(packet, 4);
    const stream = this.#streams.get(key);
    if (stream && !stream.rtcpReplay.check(index)) return 'replayed';
    const encrypted = (word & SRTCP_E_FLAG) !== 0;
    const result = this.#transform.openRtcp(packet, out, ssrc, index, encrypted);
    if (typeof result === 'string') return result;
    (stream ?? this.#stream(key)).rtcpReplay.accept(index);
    return result;
  }

  /** The state of the SSRC whose key (ssrcKey) is `key`, created when new. */
  #stream(key: number): StreamState {
    if (key === this.#lastKey && this.#lastStream) return this.#lastStream;
    let stream = this.#streams.get(key);
    if (stream === undefined) {
      stream = new StreamState();
      this.#streams.set(key, stream);
    }
    this.#lastKey = key;
    this.#lastStream = stream;
    return stream;
  }
}
