import type { NativeAddon } from './srtp/native-addon.ts';

/**
 * When the datagram being dispatched reached this host, in microseconds of `performance.now()`.
 *
 * The time JavaScript first sees a datagram is late by however long it waited in the socket buffer
 * while the thread was busy, and a burst that waited is then seen within microseconds. Receive
 * times feed the publisher's transport-wide feedback, so on a busy worker a publisher's bandwidth
 * probes looked as if they arrived many times faster than sent (libwebrtc discards a probe that
 * arrived more than twice as fast) and its packets' delays like congestion: a Chromium publisher
 * stayed near its 300 kbit/s start rate for 20 s on a loaded machine. The kernel's receive time (SIOCGSTAMPNS,
 * through the native addon) does not wait with the datagram. Without the addon (or on another
 * socket, e.g. ICE-TCP) the time is now.
 *
 * Valid only while the datagram is being dispatched: libuv hands each datagram to JavaScript right
 * after reading it, so the socket's last receive time is that datagram's.
 */
export class ReceiveClock {
  readonly #addon: NativeAddon;
  readonly #fd: number;

  /** Undefined when the addon cannot tell receive times (not built, or an older build). */
  static forSocket(addon: NativeAddon | undefined, fd: number): ReceiveClock | undefined {
    if (!addon?.receiveAgeUs || fd < 0) return undefined;
    // The first call turns timestamping on for the socket (it answers -1).
    addon.receiveAgeUs(fd);
    return new ReceiveClock(addon, fd);
  }

  private constructor(addon: NativeAddon, fd: number) {
    this.#addon = addon;
    this.#fd = fd;
  }

  /**
   * The receive time of the datagram last read from the socket, into out[0] (returned, a double
   * would be a heap number per datagram).
   */
  readArrivalUs(out: Float64Array): void {
    const nowUs = performance.now() * 1000;
    const ageUs = this.#addon.receiveAgeUs?.(this.#fd) ?? -1;
    out[0] = ageUs > 0 ? nowUs - ageUs : nowUs;
  }
}
