import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import {
  type DropReason,
  dropsByReason,
  emptyMediaReport,
  type MediaCounterName,
  type MediaWorkerGauges,
  type MediaWorkerSnapshot,
} from './media-counters.ts';
import { MEDIA_HISTOGRAMS, type MediaHistogramName } from './media-histograms.ts';
import { emptyHistogram } from './worker-histogram.ts';

type Labels = Record<string, string>;
/** One exported series: its labels beside `worker` and how to read it from a worker's report. */
type Series = Array<{ labels: Labels; read: (s: MediaWorkerSnapshot) => number }>;

const KINDS = ['rtp', 'rtcp', 'stun', 'dtls', 'sctp'] as const;

/** packets or bytes, received or sent, by kind: the counter of each kind. */
function byKind(unit: 'Packets' | 'Bytes', direction: 'Received' | 'Sent'): Series {
  return KINDS.map((kind) => {
    const name = `${kind}${unit}${direction}` as MediaCounterName;
    return { labels: { kind }, read: (s) => s.report.counters[name] };
  });
}

function counter(name: MediaCounterName, labels: Labels = {}): Series[number] {
  return { labels, read: (s) => s.report.counters[name] };
}

const DROP_REASONS = Object.keys(dropsByReason(emptyMediaReport())) as DropReason[];

/** The media counters as Prometheus counters: name, help, extra label and series. */
const COUNTERS: Array<{ name: string; help: string; labelNames: string[]; series: Series }> = [
  {
    name: 'bbmeet_media_packets_received_total',
    help: 'packets that reached the media ports, by kind (RFC 7983: stun, dtls, rtp, rtcp; sctp: data channel packets inside DTLS); dropped ones included',
    labelNames: ['kind'],
    series: byKind('Packets', 'Received'),
  },
  {
    name: 'bbmeet_media_bytes_received_total',
    help: 'bytes of the packets that reached the media ports, by kind',
    labelNames: ['kind'],
    series: byKind('Bytes', 'Received'),
  },
  {
    name: 'bbmeet_media_packets_sent_total',
    help: 'packets sent from the media ports, by kind (rtp and rtcp as protected; sctp also counted in dtls)',
    labelNames: ['kind'],
    series: byKind('Packets', 'Sent'),
  },
  {
    name: 'bbmeet_media_bytes_sent_total',
    help: 'bytes of the packets sent from the media ports, by kind',
    labelNames: ['kind'],
    series: byKind('Bytes', 'Sent'),
  },
  {
    name: 'bbmeet_media_forwarded_packets_total',
    help: 'RTP packets written to subscribers (one per subscriber per packet; retransmissions apart)',
    labelNames: [],
    series: [counter('forwardedPackets')],
  },
  {
    name: 'bbmeet_media_relayed_packets_total',
    help: 'RTP packets relayed between media workers for rooms spanning them (sent: handed to another worker, once per track and destination worker; received: from another worker)',
    labelNames: ['direction'],
    series: [
      counter('relayedPacketsSent', { direction: 'sent' }),
      counter('relayedPacketsReceived', { direction: 'received' }),
    ],
  },
  {
    name: 'bbmeet_media_dropped_total',
    help: 'datagrams and packets dropped on the media path, by reason',
    labelNames: ['reason'],
    series: DROP_REASONS.map((reason) => ({
      labels: { reason },
      read: (s) => dropsByReason(s.report)[reason],
    })),
  },
  {
    name: 'bbmeet_media_nacks_total',
    help: 'RTCP NACK messages received from subscribers and sent to publishers',
    labelNames: ['direction'],
    series: [
      counter('nacksReceived', { direction: 'received' }),
      counter('nacksSent', { direction: 'sent' }),
    ],
  },
  {
    name: 'bbmeet_media_retransmissions_total',
    help: 'RTP packets resent to subscribers after their NACKs',
    labelNames: [],
    series: [counter('retransmissionsSent')],
  },
  {
    name: 'bbmeet_media_keyframe_requests_total',
    help: 'keyframe requests: PLI and FIR received from subscribers, PLI sent to publishers (the server sends no FIR)',
    labelNames: ['type', 'direction'],
    series: [
      counter('plisReceived', { type: 'pli', direction: 'received' }),
      counter('firsReceived', { type: 'fir', direction: 'received' }),
      counter('plisSent', { type: 'pli', direction: 'sent' }),
    ],
  },
  {
    name: 'bbmeet_media_handshakes_total',
    help: 'ICE (first valid STUN binding check; failed: no valid check before the connect timeout) and DTLS handshakes, by outcome',
    labelNames: ['protocol', 'outcome'],
    series: [
      counter('iceCompleted', { protocol: 'ice', outcome: 'completed' }),
      counter('iceFailed', { protocol: 'ice', outcome: 'failed' }),
      counter('dtlsCompleted', { protocol: 'dtls', outcome: 'completed' }),
      counter('dtlsFailed', { protocol: 'dtls', outcome: 'failed' }),
    ],
  },
  {
    name: 'bbmeet_media_layer_switches_total',
    help: 'simulcast spatial layer switches of down tracks',
    labelNames: [],
    series: [counter('layerSwitches')],
  },
  {
    name: 'bbmeet_media_video_starts_total',
    help: "video down tracks started when their subscriber's transport connected, by how: from the keyframe cached by the published track, or by asking the publisher for one",
    labelNames: ['how'],
    series: [
      counter('videoStartsCached', { how: 'cached_keyframe' }),
      counter('videoStartsAsked', { how: 'keyframe_request' }),
    ],
  },
  {
    name: 'bbmeet_media_worker_cpu_seconds_total',
    help: 'CPU time (user + system) of the media worker thread',
    labelNames: [],
    series: [{ labels: {}, read: (s) => s.report.gauges.cpuSeconds }],
  },
  {
    name: 'bbmeet_media_worker_restarts_total',
    help: 'times the media worker died and was restarted',
    labelNames: [],
    series: [{ labels: {}, read: (s) => s.restarts }],
  },
];

const GAUGES: Array<{ name: string; help: string; field: keyof MediaWorkerGauges }> = [
  {
    name: 'bbmeet_media_worker_publishers',
    help: 'publishers homed on the media worker',
    field: 'publishers',
  },
  {
    name: 'bbmeet_media_worker_subscriptions',
    help: 'subscriptions (subscriber connections to a publisher) on the media worker',
    field: 'subscriptions',
  },
  {
    name: 'bbmeet_media_worker_down_tracks',
    help: 'down tracks (one per subscriber per track) forwarding on the media worker',
    field: 'downTracks',
  },
  {
    name: 'bbmeet_media_worker_transports',
    help: 'open WebRTC transports of the media worker',
    field: 'transports',
  },
  {
    name: 'bbmeet_media_worker_data_channels',
    help: 'data channels open on the media worker transports',
    field: 'dataChannels',
  },
  {
    name: 'bbmeet_media_worker_event_loop_delay_p99_seconds',
    help: 'event-loop delay p99 of the media worker thread over its last report (about one second)',
    field: 'eventLoopDelayP99Seconds',
  },
];

/**
 * Registers the `bbmeet_media_*` metrics on `registry`: read at each scrape from `workers()`, the
 * reports the media workers posted (about once a second), labelled by worker index.
 */
export function registerMediaMetrics(registry: Registry, workers: () => MediaWorkerSnapshot[]): void {
  const registers = [registry];
  for (const spec of COUNTERS) {
    new Counter({
      name: spec.name,
      help: spec.help,
      labelNames: ['worker', ...spec.labelNames],
      registers,
      collect() {
        this.reset();
        for (const snapshot of workers()) {
          const worker = String(snapshot.worker);
          for (const s of spec.series) this.inc({ worker, ...s.labels }, nonNegative(s.read(snapshot)));
        }
      },
    });
  }
  for (const spec of GAUGES) {
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const s of workers()) this.set({ worker: String(s.worker) }, s.report.gauges[spec.field]);
      },
    });
  }
  registerHistograms(registry, workers);
}

/**
 * Each worker histogram (media-histograms.ts) as one Prometheus histogram: the buckets were counted
 * in the workers, so this metric only formats them at scrape (prom-client's Histogram observes
 * values one by one).
 */
function registerHistograms(registry: Registry, workers: () => MediaWorkerSnapshot[]): void {
  for (const key of Object.keys(MEDIA_HISTOGRAMS) as MediaHistogramName[]) {
    const { name, help } = MEDIA_HISTOGRAMS[key];
    const get = async () => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      values: workers().flatMap((s) => histogramSeries(key, s)),
    });
    registry.registerMetric({
      name,
      help,
      type: 'histogram',
      get,
      reset: () => undefined,
    } as unknown as Metric);
  }
}

/** One worker's buckets (cumulative, as Prometheus wants them), sum and count. */
function histogramSeries(key: MediaHistogramName, s: MediaWorkerSnapshot) {
  const { name, bounds } = MEDIA_HISTOGRAMS[key];
  const worker = String(s.worker);
  // A report from a worker of an older build may lack it.
  const h = s.report.histograms?.[key] ?? emptyHistogram(bounds);
  let cumulative = 0;
  const values = bounds.map((le, i) => {
    cumulative += nonNegative(h.counts[i] ?? 0);
    return { metricName: `${name}_bucket`, labels: { worker, le: String(le) }, value: cumulative };
  });
  cumulative += nonNegative(h.counts[bounds.length] ?? 0);
  values.push({ metricName: `${name}_bucket`, labels: { worker, le: '+Inf' }, value: cumulative });
  return [
    ...values,
    { metricName: `${name}_sum`, labels: { worker }, value: nonNegative(h.sum) },
    { metricName: `${name}_count`, labels: { worker }, value: nonNegative(h.count) },
  ];
}

/** A worker's figure as prom-client takes it (a counter refuses negative numbers and NaN). */
function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
