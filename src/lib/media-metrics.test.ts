import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { emptyMediaReport, type MediaWorkerSnapshot } from './media-counters.ts';
import { registerMediaMetrics } from './media-metrics.ts';

test('registerMediaMetrics() exports each worker report labelled by worker at scrape time', async () => {
  const registry = new Registry();
  const first = emptyMediaReport();
  first.counters.rtpPacketsReceived = 100;
  first.counters.forwardedPackets = 300;
  first.counters.relayedPacketsSent = 40;
  first.drops.malformed = 2000;
  first.gauges.publishers = 2;
  first.gauges.eventLoopDelayP99Seconds = 0.012;
  const workers: MediaWorkerSnapshot[] = [
    { worker: 0, restarts: 0, report: first },
    { worker: 1, restarts: 1, report: emptyMediaReport() },
  ];
  registerMediaMetrics(registry, () => workers);
  const text = await registry.metrics();
  assert.match(text, /bbmeet_media_packets_received_total\{worker="0",kind="rtp"\} 100/);
  assert.match(text, /bbmeet_media_forwarded_packets_total\{worker="0"\} 300/);
  assert.match(text, /bbmeet_media_relayed_packets_total\{worker="0",direction="sent"\} 40/);
  assert.match(text, /bbmeet_media_dropped_total\{worker="0",reason="malformed"\} 2000/);
  assert.match(text, /bbmeet_media_worker_publishers\{worker="0"\} 2/);
  assert.match(text, /bbmeet_media_worker_event_loop_delay_p99_seconds\{worker="0"\} 0.012/);
  assert.match(text, /bbmeet_media_worker_restarts_total\{worker="1"\} 1/);
  // Read again at the next scrape, not accumulated.
  first.counters.forwardedPackets = 350;
  assert.match(await registry.metrics(), /bbmeet_media_forwarded_packets_total\{worker="0"\} 350/);
});

test('the workers\u2019 forwarding latency is one histogram, its buckets cumulative, labelled by worker', async () => {
  const registry = new Registry();
  const report = emptyMediaReport();
  report.histograms.forwardingLatency.counts[0] = 5; // ≤ 0.1 ms
  report.histograms.forwardingLatency.counts[3] = 2; // ≤ 1 ms
  report.histograms.forwardingLatency.counts[13] = 1; // above 1 s
  report.histograms.forwardingLatency.sum = 1.5;
  report.histograms.forwardingLatency.count = 8;
  registerMediaMetrics(registry, () => [{ worker: 0, restarts: 0, report }]);
  const text = await registry.metrics();
  assert.match(text, /# TYPE bbmeet_media_forwarding_latency_seconds histogram/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_bucket\{worker="0",le="0.0001"\} 5\n/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_bucket\{worker="0",le="0.00025"\} 5\n/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_bucket\{worker="0",le="0.001"\} 7\n/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_bucket\{worker="0",le="1"\} 7\n/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_bucket\{worker="0",le="\+Inf"\} 8\n/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_sum\{worker="0"\} 1.5\n/);
  assert.match(text, /bbmeet_media_forwarding_latency_seconds_count\{worker="0"\} 8/);
});

test('the receiver report and estimate histograms are exported per worker with their own buckets', async () => {
  const registry = new Registry();
  const report = emptyMediaReport();
  report.histograms.fractionLost.counts[0] = 4; // le 0: no loss
  report.histograms.fractionLost.counts[5] = 1; // ≤ 0.1
  report.histograms.fractionLost.count = 5;
  report.histograms.fractionLost.sum = 0.08;
  report.histograms.estimateRatio.counts[3] = 2; // ≤ 1
  report.histograms.estimateRatio.count = 2;
  registerMediaMetrics(registry, () => [{ worker: 2, restarts: 0, report }]);
  const text = await registry.metrics();
  assert.match(text, /# TYPE bbmeet_media_receiver_report_fraction_lost histogram/);
  assert.match(text, /bbmeet_media_receiver_report_fraction_lost_bucket\{worker="2",le="0"\} 4\n/);
  assert.match(text, /bbmeet_media_receiver_report_fraction_lost_bucket\{worker="2",le="0.1"\} 5\n/);
  assert.match(text, /bbmeet_media_receiver_report_fraction_lost_sum\{worker="2"\} 0.08\n/);
  assert.match(text, /bbmeet_media_subscriber_estimate_allocation_ratio_bucket\{worker="2",le="1"\} 2\n/);
  for (const name of [
    'bbmeet_media_receiver_report_jitter_seconds',
    'bbmeet_media_receiver_report_rtt_seconds',
    'bbmeet_media_subscriber_estimate_bits_per_second',
  ])
    assert.match(text, new RegExp(`${name}_count\\{worker="2"\\} 0\n`));
});
