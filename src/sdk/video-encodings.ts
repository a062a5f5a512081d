// What the publisher asks the browser's encoder for: simulcast layers and codec order.

/**
 * Simulcast as the Waterbus SDK sends it: rid f (full, 30 fps), h (half size, 24 fps), q (quarter
 * size, 15 fps). Listed low to high, as Chromium expects.
 */
export function simulcastEncodings(): RTCRtpEncodingParameters[] {
  return [
    { rid: 'q', scaleResolutionDownBy: 4, maxFramerate: 15, maxBitrate: 150_000 },
    { rid: 'h', scaleResolutionDownBy: 2, maxFramerate: 24, maxBitrate: 500_000 },
    { rid: 'f', scaleResolutionDownBy: 1, maxFramerate: 30, maxBitrate: 1_500_000 },
  ];
}

/** The browser's codecs with `preferred` (and its RTX) first; the others stay as fallbacks. */
export function codecsPreferring(preferred: string): RTCRtpCodec[] {
  const all = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const mime = `video/${preferred}`.toLowerCase();
  const first = all.filter((c) => c.mimeType.toLowerCase() === mime);
  return [...first, ...all.filter((c) => c.mimeType.toLowerCase() !== mime)];
}

/** The browser's `codec` and its RTX only: a backup's transceiver can be answered in nothing else. */
export function codecsOnly(codec: string): RTCRtpCodec[] {
  const mime = `video/${codec}`.toLowerCase();
  return (RTCRtpSender.getCapabilities('video')?.codecs ?? []).filter((c) =>
    [mime, 'video/rtx'].includes(c.mimeType.toLowerCase()),
  );
}
