/** What a LayerAllocator reads of a subscriber's downlink: the estimated available bitrate. */
export interface BandwidthEstimator {
  /** Bits per second the subscriber's downlink is estimated to carry now. */
  readonly estimateBps: number;
}

export interface BitrateBounds {
  /** Estimate before any feedback (default 300 kbps, as libwebrtc's start bitrate). */
  startBps?: number;
  /** Floor of the estimate (default 30 kbps). */
  minBps?: number;
  /** Ceiling of the estimate (default 20 Mbps). */
  maxBps?: number;
}

export function resolveBounds(bounds: BitrateBounds): Required<BitrateBounds> {
  const minBps = bounds.minBps ?? 30_000;
  const maxBps = bounds.maxBps ?? 20_000_000;
  if (!(minBps > 0 && maxBps >= minBps)) throw new TypeError('bitrate bounds need 0 < minBps <= maxBps');
  const startBps = Math.min(maxBps, Math.max(minBps, bounds.startBps ?? 300_000));
  return { startBps, minBps, maxBps };
}
