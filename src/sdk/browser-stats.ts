import type { RawConnectionStats } from './media.ts';

/** One connection's RTCStatsReport read into what the stats overlay computes its rates from. */
export function summarise(report: RTCStatsReport): RawConnectionStats {
  const out: RawConnectionStats = {
    bytesSent: 0,
    bytesReceived: 0,
    packetsLost: 0,
    packetsReceived: 0,
    roundTripTimeS: null,
    videos: {},
  };
  const keepBest = (trackId: string | undefined, width: number, height: number, frames: number) => {
    if (!trackId) return;
    const current = out.videos[trackId];
    if (!current || width > current.width) out.videos[trackId] = { width, height, frames };
  };
  report.forEach((s) => {
    if (s.type === 'outbound-rtp') {
      out.bytesSent += s.bytesSent ?? 0;
      // A layer Dynacast switched off keeps its last size: leave it out.
      if (s.kind === 'video' && s.active !== false) {
        // Simulcast layers share one media source: show the biggest layer being sent.
        const source = s.mediaSourceId ? report.get(s.mediaSourceId) : undefined;
        keepBest(source?.trackIdentifier, s.frameWidth ?? 0, s.frameHeight ?? 0, s.framesEncoded ?? 0);
      }
    } else if (s.type === 'inbound-rtp') {
      out.bytesReceived += s.bytesReceived ?? 0;
      out.packetsLost += Math.max(0, s.packetsLost ?? 0);
      out.packetsReceived += s.packetsReceived ?? 0;
      if (s.kind === 'video') {
        keepBest(s.trackIdentifier, s.frameWidth ?? 0, s.frameHeight ?? 0, s.framesDecoded ?? 0);
      }
    } else if (s.type === 'remote-inbound-rtp') {
      // Loss the far end reports about what we send.
      out.packetsLost += Math.max(0, s.packetsLost ?? 0);
    } else if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
      out.roundTripTimeS = s.currentRoundTripTime;
    }
  });
  return out;
}
