import type { RawConnectionStats, StatsSample } from './media.ts';

export interface VideoStats {
  width: number;
  height: number;
  framesPerSecond: number;
}

/** What the demo's stats overlay shows for one connection. */
export interface ConnectionStats {
  /** Bits per second over the last interval (sent for 'local', received otherwise). */
  bitrate: number;
  /** Seconds, or null when not measured yet. */
  roundTripTime: number | null;
  /** Fraction (0..1) of packets lost over the last interval. */
  lossRate: number;
  /** Per video track id. */
  videos: Record<string, VideoStats>;
}

/** Rates between two samples, per connection ('local' for the publisher, else the remote participant id). */
export function computeStats(
  previous: StatsSample | null,
  current: StatsSample,
): Record<string, ConnectionStats> {
  const out: Record<string, ConnectionStats> = {};
  for (const [key, now] of Object.entries(current.connections)) {
    const before = previous?.connections[key];
    out[key] = rates(key === 'local', before, now, previous ? current.at - previous.at : 0);
  }
  return out;
}

function rates(
  sending: boolean,
  before: RawConnectionStats | undefined,
  now: RawConnectionStats,
  elapsedMs: number,
): ConnectionStats {
  const bytes = sending ? now.bytesSent : now.bytesReceived;
  const bytesBefore = before ? (sending ? before.bytesSent : before.bytesReceived) : bytes;
  const perSecond = (delta: number) => (elapsedMs > 0 ? Math.max(0, (delta * 1000) / elapsedMs) : 0);
  const lost = now.packetsLost - (before?.packetsLost ?? 0);
  const received = now.packetsReceived - (before?.packetsReceived ?? 0);
  const videos: Record<string, VideoStats> = {};
  for (const [trackId, v] of Object.entries(now.videos)) {
    const framesBefore = before?.videos[trackId]?.frames ?? v.frames;
    videos[trackId] = {
      width: v.width,
      height: v.height,
      framesPerSecond: perSecond(v.frames - framesBefore),
    };
  }
  return {
    bitrate: perSecond((bytes - bytesBefore) * 8),
    roundTripTime: now.roundTripTimeS,
    lossRate: lost > 0 && lost + received > 0 ? lost / (lost + received) : 0,
    videos,
  };
}

export function formatBitrate(bps: number): string {
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(1)} Mb/s`;
  return `${Math.round(bps / 1000)} kb/s`;
}
