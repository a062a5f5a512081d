/**
 * The media path's histograms of one thread (a media worker), in fixed buckets (worker-histogram.ts),
 * sent with the worker's media report once a second and exported per worker as `bbmeet_media_*`
 * histograms (media-metrics.ts):
 *
 * - forwarding latency: for each publisher packet forwarded, from the kernel's receive time
 *   (receive-clock.ts) to its copies handed to the kernel (the wait in the socket buffer and for
 *   the thread, decryption, routing, protection and send of every copy). Copies relayed to another
 *   worker are sent there and not timed; without the native addon the start is when JavaScript saw
 *   the packet.
 * - loss, jitter and RTT of each report block of the receiver reports subscribers send about the
 *   streams we forward them (RFC 3550 §6.4.2; about one a second per stream).
 * - each subscriber's bandwidth estimate, and its ratio to what the layer allocator gave its video
 *   and audio, once a second per subscriber at its periodic allocation.
 * - the steps from a subscription made (the server's offer) to its first keyframe sent: answer
 *   applied, ICE pair selected, DTLS done (transport connected), first RTP sent, first keyframe
 *   sent; each the time since the subscription was made, observed once per subscription when its
 *   first keyframe is sent (subscribe-timeline.ts).
 *
 * A worker thread has its own copy of this module, so `mediaHistograms` holds that worker only.
 */
import {
  addHistograms,
  emptyHistogram,
  type HistogramSnapshot,
  WorkerHistogram,
} from './worker-histogram.ts';

/** Upper bounds of the forwarding latency buckets, seconds. */
export const FORWARDING_LATENCY_BOUNDS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;

/** Upper bounds of the subscribe steps' buckets, seconds. */
export const SUBSCRIBE_STEP_BOUNDS_SECONDS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 5,
] as const;

/** Each histogram's Prometheus name, help and bucket bounds. */
export const MEDIA_HISTOGRAMS = {
  forwardingLatency: {
    name: 'bbmeet_media_forwarding_latency_seconds',
    help: 'time from a publisher packet reaching the host (kernel receive time) to its copies handed to the kernel, per received packet forwarded by the worker',
    bounds: FORWARDING_LATENCY_BOUNDS_SECONDS,
  },
  fractionLost: {
    name: 'bbmeet_media_receiver_report_fraction_lost',
    help: 'fraction of packets lost (0 to 1) in each receiver report block subscribers sent about the streams forwarded to them',
    bounds: [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  },
  jitter: {
    name: 'bbmeet_media_receiver_report_jitter_seconds',
    help: 'interarrival jitter in each receiver report block subscribers sent about the streams forwarded to them',
    bounds: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5],
  },
  rtt: {
    name: 'bbmeet_media_receiver_report_rtt_seconds',
    help: 'round-trip time to subscribers from their receiver reports (LSR/DLSR against our sender reports)',
    bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2],
  },
  estimate: {
    name: 'bbmeet_media_subscriber_estimate_bits_per_second',
    help: "each subscriber's downlink bandwidth estimate (transport-cc, else REMB), once a second per subscriber",
    bounds: [100e3, 250e3, 500e3, 1e6, 1.5e6, 2.5e6, 4e6, 6e6, 10e6, 20e6, 50e6],
  },
  estimateRatio: {
    name: 'bbmeet_media_subscriber_estimate_allocation_ratio',
    help: "each subscriber's bandwidth estimate divided by the bitrate the layer allocator gave it (below 1: it sends more than the estimate), once a second per subscriber",
    bounds: [0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10],
  },
  subscribeAnswered: {
    name: 'bbmeet_media_subscribe_answer_seconds',
    help: "time from a subscription made (the server's offer) to the subscriber's answer applied, per subscription that sent a keyframe",
    bounds: SUBSCRIBE_STEP_BOUNDS_SECONDS,
  },
  subscribeIceSelected: {
    name: 'bbmeet_media_subscribe_ice_selected_seconds',
    help: "time from a subscription made (the server's offer) to its first ICE pair selected, per subscription that sent a keyframe",
    bounds: SUBSCRIBE_STEP_BOUNDS_SECONDS,
  },
  subscribeConnected: {
    name: 'bbmeet_media_subscribe_connected_seconds',
    help: "time from a subscription made (the server's offer) to DTLS done (SRTP keys, transport connected), per subscription that sent a keyframe",
    bounds: SUBSCRIBE_STEP_BOUNDS_SECONDS,
  },
  subscribeFirstRtp: {
    name: 'bbmeet_media_subscribe_first_rtp_seconds',
    help: "time from a subscription made (the server's offer) to its first RTP packet sent, per subscription that sent a keyframe",
    bounds: SUBSCRIBE_STEP_BOUNDS_SECONDS,
  },
  subscribeFirstKeyframe: {
    name: 'bbmeet_media_subscribe_first_keyframe_seconds',
    help: "time from a subscription made (the server's offer) to its first keyframe packet sent, per subscription that sent a keyframe",
    bounds: SUBSCRIBE_STEP_BOUNDS_SECONDS,
  },
} as const;

export type MediaHistogramName = keyof typeof MEDIA_HISTOGRAMS;
export type MediaHistogramSnapshots = Record<MediaHistogramName, HistogramSnapshot>;

const NAMES = Object.keys(MEDIA_HISTOGRAMS) as MediaHistogramName[];

/** This thread's histograms. */
export const mediaHistograms = Object.fromEntries(
  NAMES.map((name) => [name, new WorkerHistogram(MEDIA_HISTOGRAMS[name].bounds)]),
) as Record<MediaHistogramName, WorkerHistogram>;

/** One forwarded packet's latency, microseconds. */
export function observeForwardingLatencyUs(latencyUs: number): void {
  mediaHistograms.forwardingLatency.observe(latencyUs / 1e6);
}

/** Every histogram of this thread now (taken once a second, never per packet). */
export function snapshotMediaHistograms(): MediaHistogramSnapshots {
  return mapNames((name) => mediaHistograms[name].snapshot());
}

export function emptyMediaHistograms(): MediaHistogramSnapshots {
  return mapNames((name) => emptyHistogram(MEDIA_HISTOGRAMS[name].bounds));
}

/** Two workers' histograms added (a worker's totals across its restarts); missing ones count as empty. */
export function addMediaHistograms(
  a: Partial<MediaHistogramSnapshots> | undefined,
  b: Partial<MediaHistogramSnapshots> | undefined,
): MediaHistogramSnapshots {
  return mapNames((name) => addHistograms(MEDIA_HISTOGRAMS[name].bounds, a?.[name], b?.[name]));
}

function mapNames(f: (name: MediaHistogramName) => HistogramSnapshot): MediaHistogramSnapshots {
  return Object.fromEntries(NAMES.map((name) => [name, f(name)])) as MediaHistogramSnapshots;
}
