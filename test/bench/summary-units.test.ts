import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepResult } from '../../bench/step-types.ts';
import { worstP99BelowSaturation } from '../../bench/summary.ts';

function step(over: Partial<StepResult>): StepResult {
  return {
    system: 'bbmeet',
    scenario: 'fanout',
    size: 16,
    publishers: 1,
    subscriptions: 16,
    participants: 17,
    seconds: 10,
    in_pps: 100,
    out_pps: 1600,
    out_mbps: 1,
    cpu_cores: 0.2,
    out_pps_per_core: 8000,
    cpu_millicores_per_subscription: 2,
    loss: 0,
    latency_p50_ms: 1,
    latency_p99_ms: 5,
    latency_samples: 100,
    server_latency_p50_ms: 0.1,
    server_latency_p99_ms: 0.5,
    join_first_rtp_p50_ms: 300,
    join_first_rtp_p95_ms: 400,
    rss_idle_mb: 100,
    rss_loaded_mb: 110,
    rss_mb_per_participant: 0.5,
    join_failures: 0,
    auth_failures: 0,
    keyframe_requests: 1,
    subscriptions_with_media: 16,
    server_socket_drops: 0,
    stream_errors: 0,
    udp_rcvbuf_drops: 0,
    udp_sndbuf_drops: 0,
    load_cpu_cores: 0.3,
    other_cpu_cores: null,
    server_forwarded_pps: null,
    layer_requests: 0,
    delivered_pps: 1600,
    media_workers: 1,
    media_worker_nice: -10,
    workers: null,
    relays: null,
    remote_tracks: null,
    join_seconds: 1,
    join_phase_p50_ms: {} as StepResult['join_phase_p50_ms'],
    ...over,
  };
}

describe('bench summary: the worst end-to-end p99 below saturation', () => {
  it('takes the worst p99 of the BBMEET steps the server and the load generator both had room for', () => {
    const worst = worstP99BelowSaturation(
      [
        step({ size: 16, latency_p99_ms: 4 }),
        step({ size: 64, latency_p99_ms: 21 }),
        // saturated server: its queueing tail is not "below saturation"
        step({ size: 256, latency_p99_ms: 800, cpu_cores: 0.97 }),
        // the load generator at its core: its own tail
        step({ size: 128, latency_p99_ms: 300, load_cpu_cores: 0.95 }),
        // adds more than 1 % loss over the raw forwarder of the same size
        step({ size: 32, latency_p99_ms: 90, loss: 0.05 }),
        step({ system: 'raw_udp', size: 32, latency_p99_ms: 3, loss: 0.01 }),
        // not BBMEET
        step({ system: 'werift', size: 8, latency_p99_ms: 120 }),
      ],
      1,
      1,
    );
    assert.deepEqual(worst, { p99: 21, step: 'fanout 64' });
  });

  it('is null when every step is saturated or has no latency samples', () => {
    assert.equal(
      worstP99BelowSaturation(
        [step({ cpu_cores: 0.99 }), step({ latency_samples: 0, latency_p99_ms: null })],
        1,
        1,
      ),
      null,
    );
  });
});
