import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { qualityMessage } from '../../bench/quality-request.ts';
import { countCores, emptyRoomsSummary, sizeForSubscriptions } from '../../bench/rooms.ts';
import {
  capacityOf,
  continueSweep,
  extrapolateCapacity,
  judgeStep,
  loadCoresNeeded,
  type RoomStep,
  type Verdict,
} from '../../bench/rooms-capacity.ts';
import { roomsSection } from '../../bench/rooms-report.ts';
import { readRemoteDescription, subscriberAnswer } from '../../bench/sdp.ts';
import { forwardedRate, readCounter } from '../../bench/server-counters.ts';
import { parseQualityRequest } from '../../src/sfu/media/data-channels.ts';
import { parseRemoteDescription } from '../../src/transport/negotiation/parse.ts';

/** A healthy step: 1,000 pps expected and received, the server sent as much, all well inside. */
const healthy = (over: Partial<RoomStep> = {}): RoomStep => ({
  size: 100,
  subscriptions: 100,
  out_pps: 1000,
  loss: 0,
  server_forwarded_pps: 1000,
  latency_p99_ms: 5,
  server_latency_p99_ms: 1,
  cpu_cores: 0.3,
  load_cpu_cores: 0.3,
  other_cpu_cores: 0.05,
  join_failures: 0,
  subscriptions_with_media: 100,
  ...over,
});

const verdict = (size: number, outcome: Verdict['outcome'], loadBusy = false): Verdict => ({
  size,
  outcome,
  loadBusy,
  serverLoss: 0,
  receiverLoss: 0,
  reasons: [],
});

describe('bench rooms: judging a step', () => {
  it('a step inside every limit is ok, the load not busy', () => {
    const v = judgeStep(healthy(), 1);
    assert.equal(v.outcome, 'ok');
    assert.equal(v.loadBusy, false);
    assert.equal(v.serverLoss, 0);
    assert.equal(v.receiverLoss, 0);
  });

  it('loss the receivers had of packets the server sent is the load generator’s, not the server’s', () => {
    // 5 % lost at the receivers, and they read 5 % less than the server wrote: the server added none.
    const v = judgeStep(healthy({ loss: 0.05, server_forwarded_pps: 1000, out_pps: 1000 }), 1);
    // Inside the server's limits, but the load generator is at its own: the sweep stops here.
    assert.equal(v.outcome, 'ok');
    assert.equal(v.loadBusy, true);
    assert.ok(Math.abs(v.receiverLoss! - 0.05) < 1e-9);
    assert.equal(v.serverLoss, 0);
    assert.match(v.reasons.join(), /receivers missed 5.0 %/);
  });

  it('loss the server did not even send is the server’s', () => {
    // The receivers read all the server wrote, and still 3 % of the sequence is missing.
    const v = judgeStep(healthy({ loss: 0.03, out_pps: 1000, server_forwarded_pps: 970 }), 1);
    assert.equal(v.outcome, 'server');
    assert.ok(Math.abs(v.serverLoss - 0.03) < 1e-9);
  });

  it('a server at a full core is its limit whatever the load did', () => {
    const v = judgeStep(healthy({ cpu_cores: 0.99, load_cpu_cores: 0.95, loss: 0.2 }), 1);
    assert.equal(v.outcome, 'server');
    assert.equal(v.loadBusy, true);
    assert.match(v.reasons.join(), /server at 0.99 cores/);
  });

  it('a busy load generator with failed joins or a long tail makes the step inconclusive (load)', () => {
    const v = judgeStep(healthy({ load_cpu_cores: 0.9, join_failures: 3, latency_p99_ms: 80 }), 1);
    assert.equal(v.outcome, 'load');
    assert.match(v.reasons.join(), /load processes at 0.90 of 1 cores/);
    assert.match(v.reasons.join(), /3 joins failed/);
  });

  it('failed joins with an idle load generator are the server’s', () => {
    assert.equal(judgeStep(healthy({ join_failures: 1 }), 1).outcome, 'server');
    assert.equal(judgeStep(healthy({ subscriptions_with_media: 90 }), 1).outcome, 'server');
  });

  it('an end-to-end tail the server’s own histogram lacks is said, and not held against the server', () => {
    const outside = judgeStep(healthy({ latency_p99_ms: 120, server_latency_p99_ms: 2 }), 1);
    assert.equal(outside.outcome, 'ok');
    assert.equal(outside.loadBusy, false);
    assert.match(outside.reasons.join(), /120.0 ms end to end, 2.0 ms in the server/);
    const inside = judgeStep(healthy({ latency_p99_ms: 120, server_latency_p99_ms: 90 }), 1);
    assert.equal(inside.outcome, 'server');
  });

  it('other work on the machine makes a failing step inconclusive, and stops the sweep', () => {
    const failing = judgeStep(
      healthy({ other_cpu_cores: 1.2, latency_p99_ms: 300, server_latency_p99_ms: 200 }),
      1,
    );
    assert.equal(failing.outcome, 'load');
    assert.match(failing.reasons.join(), /other work on the machine took 1.20 cores/);
    const passing = judgeStep(healthy({ other_cpu_cores: 1.2 }), 1);
    assert.equal(passing.outcome, 'ok');
    assert.equal(continueSweep([passing]), false);
    assert.equal(judgeStep(healthy({ other_cpu_cores: null }), 1).outcome, 'ok');
  });

  it('inside the limits but with the load near its cores: ok, and the sweep stops there', () => {
    const v = judgeStep(healthy({ load_cpu_cores: 1.8 }), 2);
    assert.equal(v.outcome, 'ok');
    assert.equal(v.loadBusy, true);
    assert.equal(continueSweep([v]), false);
  });

  it('without the server counter the receivers’ loss is all counted as the server’s', () => {
    const v = judgeStep(healthy({ loss: 0.02, server_forwarded_pps: null }), 1);
    assert.equal(v.receiverLoss, null);
    assert.equal(v.serverLoss, 0.02);
    assert.equal(v.outcome, 'server');
  });
});

describe('bench rooms: sweeps and capacity', () => {
  it('a sweep goes on while the sizes are ok and the load is not busy', () => {
    assert.equal(continueSweep([]), true);
    assert.equal(continueSweep([verdict(250, 'ok')]), true);
    assert.equal(continueSweep([verdict(250, 'ok'), verdict(500, 'server')]), false);
    assert.equal(continueSweep([verdict(250, 'load', true)]), false);
  });

  it('the capacity is the largest ok size; the stop says who stopped the sweep', () => {
    const byServer = capacityOf([verdict(250, 'ok'), verdict(500, 'ok'), verdict(1000, 'server')]);
    assert.equal(byServer.capacity, 500);
    assert.equal(byServer.stoppedBy, 'server');
    assert.equal(byServer.stop?.size, 1000);
    const byLoad = capacityOf([verdict(250, 'ok'), verdict(500, 'load', true)]);
    assert.equal(byLoad.capacity, 250);
    assert.equal(byLoad.stoppedBy, 'load');
    const busyButOk = capacityOf([verdict(250, 'ok'), verdict(500, 'ok', true)]);
    assert.equal(busyButOk.capacity, 500);
    assert.equal(busyButOk.stoppedBy, 'load');
    const all = capacityOf([verdict(250, 'ok'), verdict(500, 'ok')]);
    assert.equal(all.stoppedBy, 'sizes');
    assert.equal(all.stop, undefined);
    assert.equal(capacityOf([verdict(250, 'server')]).capacity, null);
  });

  it('extrapolation fits fixed + per-participant cost through the two largest sizes, else through 0', () => {
    // 0.05 fixed + 0.0006 per subscriber: 0.95 cores at 1,500.
    const two = extrapolateCapacity([
      { size: 250, cpu_cores: 0.2 },
      { size: 500, cpu_cores: 0.35 },
    ]);
    assert.equal(two, 1500);
    assert.equal(extrapolateCapacity([{ size: 100, cpu_cores: 0.1 }]), 950);
    assert.equal(extrapolateCapacity([]), null);
    assert.equal(extrapolateCapacity([{ size: 100, cpu_cores: 0 }]), null);
  });

  it('the load cores a size would need scale from the load CPU per participant', () => {
    assert.equal(loadCoresNeeded({ size: 250, load_cpu_cores: 0.85 }, 1000), 4);
    assert.equal(loadCoresNeeded({ size: 0, load_cpu_cores: 0.5 }, 1000), null);
  });

  it('subscriptions convert back to each shape’s size', () => {
    assert.equal(sizeForSubscriptions('webinar', 1234, 10), 1234);
    assert.equal(sizeForSubscriptions('audio_room', 1234, 10), 123);
    // 25 participants: 600 subscriptions; 601 is not enough for 26 (650).
    assert.equal(sizeForSubscriptions('meeting', 600, 10), 25);
    assert.equal(sizeForSubscriptions('meeting', 649, 10), 25);
    assert.equal(sizeForSubscriptions('meeting', null, 10), null);
  });

  it('taskset core lists are counted', () => {
    assert.equal(countCores('1'), 1);
    assert.equal(countCores('2-3'), 2);
    assert.equal(countCores('0,2-5'), 5);
    assert.ok(countCores('') >= 1);
  });
});

describe('bench rooms: layer requests and server counters', () => {
  it('the load subscriber’s track_quality message is one the server accepts', () => {
    assert.deepEqual(parseQualityRequest(qualityMessage('bench-1-video', 'q')), {
      trackId: 'bench-1-video',
      quality: 1,
    });
    assert.equal(parseQualityRequest(qualityMessage('t', 'h'))?.quality, 2);
    assert.equal(parseQualityRequest(qualityMessage('t', 'f'))?.quality, 3);
  });

  it('the offer’s video track id and SCTP port are read, and the data section accepted on request', () => {
    const offer = [
      'v=0',
      'o=- 1 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE v dc',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:v',
      'a=ice-ufrag:u',
      'a=ice-pwd:pppppppppppppppppppppppp',
      'a=fingerprint:sha-256 AA:BB',
      'a=setup:actpass',
      'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
      'a=rtpmap:96 VP8/90000',
      'a=msid:bench-7 bench-7-video',
      'a=sendonly',
      'a=rtcp-mux',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=mid:dc',
      'a=sctp-port:5001',
      'a=max-message-size:262144',
      '',
    ].join('\r\n');
    const info = readRemoteDescription(offer);
    assert.equal(info.sections[0]!.trackId, 'bench-7-video');
    assert.equal(info.sections[1]!.sctpPort, 5001);
    const local = { ufrag: 'abcd', pwd: 'p'.repeat(24), fingerprint: 'AA:BB' };
    const declined = parseRemoteDescription(subscriberAnswer(local, info, 'active'));
    assert.equal(declined.media[1]!.port, 0);
    const accepted = parseRemoteDescription(subscriberAnswer(local, info, 'active', true));
    assert.equal(accepted.media[1]!.kind, 'application');
    assert.notEqual(accepted.media[1]!.port, 0);
    assert.equal(accepted.media[1]!.sctpPort, 5000);
  });

  it('a counter is summed over its series; the rate needs two ordered samples', () => {
    const text = [
      '# HELP bbmeet_media_forwarded_packets_total x',
      '# TYPE bbmeet_media_forwarded_packets_total counter',
      'bbmeet_media_forwarded_packets_total{worker="0"} 100',
      'bbmeet_media_forwarded_packets_total{worker="1"} 50',
      'bbmeet_media_forwarded_packets_total_other 7',
      '',
    ].join('\n');
    assert.equal(readCounter(text, 'bbmeet_media_forwarded_packets_total'), 150);
    assert.equal(
      readCounter('bbmeet_media_forwarded_packets_total 9\n', 'bbmeet_media_forwarded_packets_total'),
      9,
    );
    assert.equal(readCounter(text, 'bbmeet_media_nacks_total'), undefined);
    assert.equal(forwardedRate({ packets: 100, atMs: 1000 }, { packets: 1100, atMs: 3000 }), 500);
    assert.equal(forwardedRate(undefined, { packets: 1, atMs: 1 }), null);
    assert.equal(forwardedRate({ packets: 1, atMs: 5 }, { packets: 2, atMs: 5 }), null);
  });
});

describe('bench rooms: the BENCHMARKS.md section', () => {
  it('lists every rooms key and one row per sweep step with its verdict and reasons', () => {
    const summary = emptyRoomsSummary();
    summary.webinar_capacity_subs = 500;
    summary.rooms = 'webinar: capacity 500 subscribers';
    summary.rooms_steps.push({
      shape: 'webinar',
      ...verdict(500, 'ok'),
      reasons: ['other work on the machine took 0.30 cores'],
      subscriptions: 500,
      out_pps: 15000,
      server_forwarded_pps: 15010,
      kbps_per_subscription: 160,
      layer_requests: 500,
      cpu_cores: 0.4,
      load_cpu_cores: 0.5,
      other_cpu_cores: 0.3,
      latency_p99_ms: 12,
      server_latency_p99_ms: 1,
      join_seconds: 20,
      join_failures: 0,
    });
    const machine = {
      cpu: 'x',
      cores: 2,
      memory_gb: 1,
      node: 'v24',
      kernel: 'k',
      os: 'o',
      pinning: 'p',
      load_average: [0, 0, 0],
    };
    const md = roomsSection(summary, machine, 65);
    assert.match(md, /\| `webinar_capacity_subs` \| 500 \|/);
    assert.match(md, /\| `meeting_capacity_extrapolated` \| – \|/);
    assert.match(md, /\| webinar \| 500 \| ok \| 500 \| 15000 \| 15010 \| 160 \|/);
    assert.match(md, /other work on the machine took 0.30 cores/);
    assert.match(md, /webinar: capacity 500 subscribers/);
  });
});
