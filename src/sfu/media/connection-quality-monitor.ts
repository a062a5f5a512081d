import type { Clock } from '../../lib/clock.ts';
import type { ParticipantId } from '../../lib/ids.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import {
  type ConnectionQuality,
  ConnectionQualityTracker,
  type ConnectionWindow,
} from './connection-quality.ts';
import type { Publisher } from './publisher.ts';
import type { Subscription } from './subscription.ts';

/** One report per participant per window at most: ≤ 1 per 2 s. */
export const CONNECTION_QUALITY_INTERVAL_MS = 2000;

/**
 * A room's connection quality: every window it gathers, per participant, what arrived on its
 * publisher connection (loss, jitter) and what its subscriber connections' receiver reports said
 * (loss, jitter, RTT), and reports the participants whose level changed.
 *
 * Lifecycle: created with the room → close() when the room goes.
 */
export class ConnectionQualityMonitor {
  readonly #trackers = new Map<ParticipantId, ConnectionQualityTracker>();
  readonly #lastPackets = new WeakMap<WebRtcTransport, number>();
  readonly #stop: () => void;

  constructor(options: {
    clock: Clock;
    publishers: () => Iterable<Publisher>;
    subscriptions: () => Iterable<Subscription>;
    onChange: (participantId: ParticipantId, quality: ConnectionQuality, score: number) => void;
    intervalMs?: number;
  }) {
    this.#stop = options.clock.setInterval(() => {
      for (const [id, window] of this.#windows(options.publishers(), options.subscriptions())) {
        let tracker = this.#trackers.get(id);
        if (!tracker) {
          tracker = new ConnectionQualityTracker();
          this.#trackers.set(id, tracker);
        }
        const changed = tracker.update(window);
        if (changed) options.onChange(id, changed.quality, changed.score);
      }
    }, options.intervalMs ?? CONNECTION_QUALITY_INTERVAL_MS);
  }

  /** Current level of a participant, if known. */
  quality(participantId: ParticipantId): ConnectionQuality | undefined {
    return this.#trackers.get(participantId)?.quality;
  }

  close(): void {
    this.#stop();
  }

  #windows(
    publishers: Iterable<Publisher>,
    subscriptions: Iterable<Subscription>,
  ): Map<ParticipantId, ConnectionWindow> {
    const windows = new Map<ParticipantId, ConnectionWindow>();
    const windowOf = (id: ParticipantId) => {
      let w = windows.get(id);
      if (!w) {
        w = { packetsReceived: 0, lossRatio: 0, jitterMs: 0, rttMs: undefined };
        windows.set(id, w);
      }
      return w;
    };
    for (const publisher of publishers) {
      const w = windowOf(publisher.participantId);
      w.packetsReceived += this.#received(publisher.transport);
      const up = publisher.receiveStats.takeWindow();
      if (up.expected > 0) w.lossRatio = Math.max(w.lossRatio, up.lossRatio);
      w.jitterMs = Math.max(w.jitterMs, up.jitterMs);
    }
    for (const subscription of subscriptions) {
      const w = windowOf(subscription.subscriberId);
      w.packetsReceived += this.#received(subscription.transport);
      const down = subscription.reportStats.takeWindow();
      if (down.reports > 0) {
        w.lossRatio = Math.max(w.lossRatio, down.lossRatio);
        w.jitterMs = Math.max(w.jitterMs, down.jitterMs);
      }
      if (down.rttMs !== undefined) w.rttMs = Math.max(w.rttMs ?? 0, down.rttMs);
    }
    for (const id of this.#trackers.keys()) if (!windows.has(id)) this.#trackers.delete(id);
    return windows;
  }

  /** RTP and RTCP packets received on a transport since the last window. */
  #received(transport: WebRtcTransport): number {
    const total = transport.stats.rtpPacketsReceived + transport.stats.rtcpPacketsReceived;
    const delta = total - (this.#lastPackets.get(transport) ?? 0);
    this.#lastPackets.set(transport, total);
    return delta;
  }
}
