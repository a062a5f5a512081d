// The native fast path (native/bbmeet_native.c, a Node-API addon built by `npm ci` when a C
// compiler is there): SRTP transforms on OpenSSL contexts and a batched UDP send (sendmmsg).
// Optional: without it everything runs in JavaScript. BBMEET_NATIVE=0 turns it off.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Bumped with every change of the addon's functions; a stale build is not used. */
export const NATIVE_ABI_VERSION = 1;

/** An opaque per-session handle (OpenSSL contexts), freed by the garbage collector. */
export type NativeSessionHandle = { readonly __nativeSrtpSession: unique symbol };

export interface NativeAddon {
  readonly abiVersion: number;
  createSession(
    profile: number,
    rtpKey: Buffer,
    rtpSalt: Buffer,
    rtpAuthKey: Buffer,
    rtcpKey: Buffer,
    rtcpSalt: Buffer,
    rtcpAuthKey: Buffer,
  ): NativeSessionHandle;
  /** In place on buf[0..end), tag appended; returns the SRTP length. */
  sealRtp(
    session: NativeSessionHandle,
    buf: Uint8Array,
    headerBytes: number,
    end: number,
    ssrc: number,
    roc: number,
    seq: number,
  ): number;
  /**
   * sealRtp with the SSRC and sequence number read from buf's header (passed from JavaScript, an
   * SSRC above 2^31 is a heap number allocated per call). Absent in builds older than this function.
   */
  sealRtpHeader?(
    session: NativeSessionHandle,
    buf: Uint8Array,
    headerBytes: number,
    end: number,
    roc: number,
  ): number;
  /**
   * Returns the RTP length, or -1 when the packet does not authenticate (`out` untouched). `out`
   * may be the packet's own memory, or apart from it (then the packet is left as it was).
   */
  openRtp(
    session: NativeSessionHandle,
    packet: Uint8Array,
    headerBytes: number,
    out: Uint8Array,
    ssrc: number,
    roc: number,
    seq: number,
  ): number;
  /**
   * openRtp with the SSRC and sequence number read from the packet's header. Absent in builds older
   * than this function.
   */
  openRtpHeader?(
    session: NativeSessionHandle,
    packet: Uint8Array,
    headerBytes: number,
    out: Uint8Array,
    roc: number,
  ): number;
  sealRtcp(session: NativeSessionHandle, buf: Uint8Array, end: number, ssrc: number, index: number): number;
  openRtcp(
    session: NativeSessionHandle,
    packet: Uint8Array,
    out: Uint8Array,
    ssrc: number,
    index: number,
    encrypted: boolean,
  ): number;
  /** [family 4|6, port] of a bound UDP socket's descriptor, or null when it is not one. */
  socketInfo(fd: number): [4 | 6, number] | null;
  /** Writes an IP literal's bytes into out[0..16); returns its family, or 0 when it is not a literal. */
  encodeAddress(ip: string, out: Uint8Array): 0 | 4 | 6;
  /**
   * sendmmsg of the first `count` slots of `ring` (see udp-endpoint's SendQueue for `meta`);
   * returns how many were sent or dropped as refused, fewer when the socket would block.
   */
  flush(fd: number, ring: Uint8Array, slotBytes: number, meta: Uint32Array, count: number): number;
  /**
   * Asks for a receive buffer of `bytes` (SO_RCVBUFFORCE where allowed, else SO_RCVBUF up to
   * net.core.rmem_max); returns what the kernel reports (twice what it set). Absent in builds
   * older than this function.
   */
  setReceiveBuffer?(fd: number, bytes: number): number;
  /**
   * Microseconds since the kernel received the datagram last read from the UDP socket `fd`, or -1
   * when it has no receive time yet (the first call turns timestamping on). Absent in builds older
   * than this function.
   */
  receiveAgeUs?(fd: number): number;
}

/** Where `npm ci` (node-gyp) puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../../build/Release/bbmeet_native.node', import.meta.url),
);

let loaded: NativeAddon | undefined;
let loadError: string | undefined;
let attempted = false;
let enabled = process.env.BBMEET_NATIVE !== '0';

function load(): void {
  attempted = true;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loadError = `not built (${NATIVE_ADDON_PATH} is missing; run npm run build:native)`;
    return;
  }
  try {
    const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
    if (addon.abiVersion !== NATIVE_ABI_VERSION) {
      loadError = `stale build (abi ${addon.abiVersion}, want ${NATIVE_ABI_VERSION}; run npm run build:native)`;
      return;
    }
    loaded = addon;
  } catch (error) {
    loadError = `failed to load: ${(error as Error).message}`;
  }
}

/** The addon when it is built, loads and is enabled; else undefined (use JavaScript). */
export function nativeAddon(): NativeAddon | undefined {
  if (!enabled) return undefined;
  if (!attempted) load();
  return loaded;
}

/** Why nativeAddon() is undefined ('disabled' by BBMEET_NATIVE=0 or setNativeEnabled), or undefined when it is loaded. */
export function nativeUnavailableReason(): string | undefined {
  if (!enabled) return 'disabled';
  if (!attempted) load();
  return loaded ? undefined : loadError;
}

/**
 * Turns the fast path on or off for what is created from now on (benchmarks and tests compare
 * both in one process); existing sessions and endpoints keep what they chose.
 */
export function setNativeEnabled(on: boolean): void {
  enabled = on;
}
