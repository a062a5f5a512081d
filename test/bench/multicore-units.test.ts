import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import {
  coreCount,
  type MulticoreStep,
  multicoreFigures,
  multicoreStepCount,
} from '../../bench/multicore.ts';
import {
  ladderSizes,
  median,
  multicorePlan,
  ratio,
  saturation,
  saturationPps,
  splitCores,
} from '../../bench/multicore-plan.ts';
import { freeUdpPorts } from '../../bench/processes.ts';
import type { StepResult } from '../../bench/step-types.ts';
import { parseWorkerMetrics, workerShares } from '../../bench/worker-metrics.ts';

describe('bench: core plans', () => {
  it('the ordinary split gives the server the first half of the cores and the load the rest', () => {
    assert.deepEqual(splitCores(2, true), {
      pinned: true,
      serverCores: '0',
      loadCores: '1',
      description: 'server on CPU 0, load on CPU 1 (taskset)',
    });
    assert.equal(splitCores(4, true).serverCores, '0-1');
    assert.equal(splitCores(4, true).loadCores, '2-3');
    assert.equal(splitCores(3, true).serverCores, '0');
    assert.equal(splitCores(3, true).loadCores, '1-2');
    assert.equal(splitCores(1, true).pinned, false);
    assert.equal(splitCores(8, false).pinned, false);
    assert.equal(splitCores(8, false).serverCores, '');
  });

  it('multicore scales only with ≥ 4 cores and taskset: one worker on CPU 0, two on CPU 0-1, load on the rest', () => {
    assert.deepEqual(multicorePlan(4, true), {
      mode: 'scaling',
      oneWorkerCores: '0',
      twoWorkerCores: '0-1',
      loadCores: '2-3',
      subscriberProcesses: 2,
      description: '1 media worker on CPU 0, then 2 on CPU 0-1; load on CPU 2-3 (taskset)',
    });
    const eight = multicorePlan(8, true);
    assert.equal(eight.mode, 'scaling');
    assert.equal(eight.loadCores, '2-7');
    assert.equal(eight.subscriberProcesses, 6);
  });

  it('below 4 cores or without taskset it measures efficiency on the ordinary split and says what scaling needs', () => {
    for (const [cores, taskset] of [
      [2, true],
      [3, true],
      [1, true],
      [16, false],
    ] as const) {
      const plan = multicorePlan(cores, taskset);
      assert.equal(plan.mode, 'efficiency', `${cores} cores, taskset ${taskset}`);
      if (plan.mode !== 'efficiency') continue;
      assert.match(plan.reason, /≥ 4 cores and taskset/);
      assert.equal(plan.serverCores, splitCores(cores, taskset).serverCores);
      assert.equal(plan.loadCores, splitCores(cores, taskset).loadCores);
    }
    const two = multicorePlan(2, true);
    assert.ok(two.mode === 'efficiency' && two.reason.startsWith('this machine has 2 cores'));
    const noTaskset = multicorePlan(16, false);
    assert.ok(noTaskset.mode === 'efficiency' && noTaskset.reason.startsWith('taskset is missing'));
  });

  it('reads taskset core lists', () => {
    assert.equal(coreCount('0'), 1);
    assert.equal(coreCount('0-1'), 2);
    assert.equal(coreCount('2-7'), 6);
    assert.equal(coreCount('0,2-3'), 3);
    assert.equal(coreCount(''), 0);
  });
});

describe('bench: saturation arithmetic', () => {
  const step = (size: number, out_pps: number, cpu_cores: number, loss: number) => ({
    size,
    out_pps,
    cpu_cores,
    loss,
  });

  it('a step is saturated by loss over 1 % or by 90 % of its cores', () => {
    assert.equal(saturation(step(64, 10_000, 0.5, 0), 1), null);
    assert.equal(saturation(step(64, 10_000, 0.5, 0.02), 1), 'loss');
    assert.equal(saturation(step(64, 10_000, 0.95, 0), 1), 'cpu');
    assert.equal(saturation(step(64, 10_000, 0.95, 0), 2), null);
    assert.equal(saturation(step(64, 10_000, 1.85, 0.001), 2), 'cpu');
  });

  it('packets/s at saturation: the most forwarded with ≤ 1 % loss, and whether saturation was reached', () => {
    const ladder = [step(64, 10_000, 0.3, 0), step(128, 20_000, 0.6, 0.002), step(256, 30_000, 1, 0.2)];
    assert.deepEqual(saturationPps(ladder, 1), { pps: 20_000, size: 128, reached: true });
    assert.deepEqual(saturationPps(ladder.slice(0, 2), 1), { pps: 20_000, size: 128, reached: false });
    assert.deepEqual(saturationPps([step(64, 1000, 1, 0.5)], 1), { pps: null, size: null, reached: true });
  });

  it('the ladder doubles to 256 then climbs by 256', () => {
    assert.deepEqual(ladderSizes(64, 1024), [64, 128, 256, 512, 768, 1024]);
    assert.deepEqual(ladderSizes(64, 100), [64]);
  });

  it('medians and ratios ignore what is not a number', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(median([Number.NaN]), null);
    assert.equal(ratio(3, 2), 1.5);
    assert.equal(ratio(null, 2), null);
    assert.equal(ratio(3, 0), null);
  });
});

function fakeStep(
  over: Partial<MulticoreStep> & Pick<MulticoreStep, 'shape' | 'media_workers' | 'size'>,
): MulticoreStep {
  const base: Partial<StepResult> = {
    system: 'bbmeet',
    scenario: 'fanout',
    out_pps: 20_000,
    delivered_pps: 20_000,
    cpu_cores: 0.2,
    loss: 0,
    workers: null,
    relays: null,
    remote_tracks: null,
  };
  return { ...base, round: 1, server_cores_given: '0', ...over } as MulticoreStep;
}

describe('bench: multicore figures', () => {
  const shares = (pps: [number, number], relayed = 0) =>
    pps.map((p, worker) => ({
      worker,
      forwarded_pps: p,
      cpu_cores: 0.1,
      subscriptions: 64,
      down_tracks: 64,
      relayed_sent_pps: worker === 0 ? relayed : 0,
      relayed_received_pps: worker === 1 ? relayed : 0,
    }));

  it('efficiency: delivered packets per core with 2 workers ÷ 1 (medians of the rounds), spread and relays read', () => {
    const plan = multicorePlan(2, true);
    const steps = [
      fakeStep({ shape: 'one_room', media_workers: 1, size: 128, cpu_cores: 0.2, round: 1 }),
      fakeStep({
        shape: 'one_room',
        media_workers: 2,
        size: 128,
        cpu_cores: 0.25,
        round: 1,
        workers: shares([10_000, 10_000], 2000),
        relays: 1,
        remote_tracks: 1,
      }),
      fakeStep({ shape: 'one_room', media_workers: 1, size: 128, cpu_cores: 0.4, round: 2 }),
      fakeStep({
        shape: 'one_room',
        media_workers: 2,
        size: 128,
        cpu_cores: 0.25,
        round: 2,
        workers: shares([10_000, 10_000], 2000),
        relays: 1,
        remote_tracks: 1,
      }),
      fakeStep({ shape: 'many_rooms', media_workers: 1, size: 128, cpu_cores: 0.2 }),
      fakeStep({
        shape: 'many_rooms',
        media_workers: 2,
        size: 128,
        cpu_cores: 0.2,
        workers: shares([12_000, 0]),
        relays: 0,
        remote_tracks: 0,
      }),
    ];
    const f = multicoreFigures(plan, steps);
    // One worker: 100k and 50k per core → median 75k; two: 80k and 80k.
    assert.equal(f.multicore_efficiency_one_room, round3(80_000 / 75_000));
    assert.equal(f.multicore_efficiency_many_rooms, 1);
    assert.equal(f.multicore_scaling_one_room, null);
    assert.equal(f.multicore_scaling_many_rooms, null);
    assert.equal(f.multicore.one_room.spread.every_worker_carries_subscribers, true);
    assert.equal(f.multicore.one_room.spread.relays, 1);
    // Worker 1 forwarded nothing: the many-rooms load did not spread.
    assert.equal(f.multicore.many_rooms.spread.every_worker_carries_subscribers, false);
    // µs per packet: one room 2w 12.5 − 1w median(10, 20)=15 → −2.5; many rooms 10 − 10 = 0.
    assert.equal(f.multicore_relay_extra_us_per_packet, -2.5);
    // Its noise is unknown: the many-rooms configurations ran one round each.
    assert.equal(f.multicore_relay_extra_noise_us, null);
    assert.match(String(f.multicore_relay_extra_note), /noise unknown/);
    // Per relayed packet: −2.5 µs × 20,000 delivered ÷ 2,000 relayed.
    assert.equal(f.multicore.one_room.spread.relayed_pps, 2000);
    assert.equal(f.multicore_relay_us_per_relayed_packet, -25);
  });

  it("efficiency: the relay's extra cost is read against the noise of the rounds it is made of", () => {
    const plan = multicorePlan(2, true);
    // µs per packet = cpu_cores ÷ 20,000 × 1e6, two rounds of each configuration.
    const rounds = (shape: 'one_room' | 'many_rooms', workers: 1 | 2, cores: [number, number]) =>
      cores.map((cpu_cores, i) =>
        fakeStep({ shape, media_workers: workers, size: 128, cpu_cores, round: i + 1 }),
      );
    const figures = (oneRoomTwoWorkers: [number, number]) =>
      multicoreFigures(plan, [
        ...rounds('one_room', 1, [0.2, 0.22]),
        ...rounds('one_room', 2, oneRoomTwoWorkers),
        ...rounds('many_rooms', 1, [0.2, 0.22]),
        ...rounds('many_rooms', 2, [0.2, 0.22]),
      ]);
    // Medians 10.5 µs everywhere: no extra; noise = half of each range (1, 1.2, 1, 1) = ±2.1 µs.
    const within = figures([0.198, 0.222]);
    assert.equal(within.multicore_relay_extra_us_per_packet, 0);
    assert.equal(within.multicore_relay_extra_noise_us, 2.1);
    assert.match(String(within.multicore_relay_extra_note), /within the rounds' noise \(±2.1 µs/);
    // One room on 2 workers at 25 µs against 10.5: 14.5 µs, beyond ±2 µs: the figure stands alone.
    const beyond = figures([0.49, 0.51]);
    assert.equal(beyond.multicore_relay_extra_us_per_packet, 14.5);
    assert.equal(beyond.multicore_relay_extra_noise_us, 2);
    assert.equal(beyond.multicore_relay_extra_note, null);
  });

  it('scaling: packets/s at saturation with 2 workers ÷ 1, each ladder stopping where it saturated', () => {
    const plan = multicorePlan(4, true);
    const ladder = (workers: 1 | 2, points: Array<[number, number, number, number]>) =>
      points.map(([size, pps, cpu, loss]) =>
        fakeStep({
          shape: 'many_rooms',
          media_workers: workers,
          size,
          out_pps: pps,
          delivered_pps: pps * (1 - loss),
          cpu_cores: cpu,
          loss,
          server_cores_given: workers === 1 ? '0' : '0-1',
        }),
      );
    const steps = [
      ...ladder(1, [
        [64, 10_000, 0.2, 0],
        [128, 20_000, 0.5, 0],
        [256, 38_000, 0.95, 0.005],
      ]),
      ...ladder(2, [
        [64, 10_000, 0.25, 0],
        [128, 20_000, 0.55, 0],
        [256, 40_000, 1.1, 0],
        [512, 70_000, 1.9, 0.004],
      ]),
    ];
    const f = multicoreFigures(plan, steps);
    assert.equal(f.multicore_scaling_many_rooms, round3(70_000 / 38_000));
    assert.equal(f.multicore_scaling_one_room, null);
    // The one-room ladders never saturated: no scaling figure, and the reason.
    const unsaturated = multicoreFigures(
      plan,
      steps.map((s) => ({ ...s, shape: 'one_room' as const, loss: 0, cpu_cores: 0.1 })),
    );
    assert.equal(unsaturated.multicore_scaling_one_room, null);
    assert.match(
      (unsaturated.multicore.one_room.saturation as { note: string }).note,
      /one worker did not saturate/,
    );
    // Equal load: 128, the largest size at which the one worker was not saturated.
    assert.equal(f.multicore.many_rooms.efficiency?.size, 128);
    assert.equal(f.multicore_efficiency_many_rooms, round3(20_000 / 0.55 / (20_000 / 0.5)));
  });

  it('counts the steps for the progress bar', () => {
    assert.equal(
      multicoreStepCount({ plan: multicorePlan(2, true), subs: 128, maxSubs: 2048, rounds: 3 }),
      12,
    );
    assert.equal(multicoreStepCount({ plan: multicorePlan(4, true), subs: 64, maxSubs: 512, rounds: 3 }), 16);
  });
});

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

describe('bench: worker metrics', () => {
  const exposition = (forwarded: [number, number], cpu: [number, number]) =>
    [
      '# HELP bbmeet_media_forwarded_packets_total RTP packets written to subscribers',
      `bbmeet_media_forwarded_packets_total{worker="0"} ${forwarded[0]}`,
      `bbmeet_media_forwarded_packets_total{worker="1"} ${forwarded[1]}`,
      `bbmeet_media_worker_cpu_seconds_total{worker="0"} ${cpu[0]}`,
      `bbmeet_media_worker_cpu_seconds_total{worker="1"} ${cpu[1]}`,
      'bbmeet_media_worker_subscriptions{worker="0"} 64',
      'bbmeet_media_worker_subscriptions{worker="1"} 63',
      'bbmeet_media_worker_down_tracks{worker="1"} 63',
      `bbmeet_media_relayed_packets_total{worker="0",direction="sent"} ${forwarded[0] / 10}`,
      `bbmeet_media_relayed_packets_total{worker="1",direction="received"} ${forwarded[0] / 10}`,
      'bbmeet_media_objects{kind="relays"} 1',
      'bbmeet_media_objects{kind="remote_tracks"} 2',
      'bbmeet_media_forwarded_packets_total{worker="x"} 5',
      'bbmeet_media_worker_subscriptions{worker="0"} garbage',
    ].join('\n');

  it('each worker forwarded packets/s and CPU over the window, subscriptions at its end, relays of the process', () => {
    const before = parseWorkerMetrics(exposition([1000, 500], [1, 2]));
    const after = parseWorkerMetrics(exposition([21_000, 10_500], [2, 2.5]));
    assert.equal(after.relays, 1);
    assert.equal(after.remoteTracks, 2);
    assert.deepEqual(workerShares(before, after, 10), [
      {
        worker: 0,
        forwarded_pps: 2000,
        cpu_cores: 0.1,
        subscriptions: 64,
        down_tracks: 0,
        relayed_sent_pps: 200,
        relayed_received_pps: 0,
      },
      {
        worker: 1,
        forwarded_pps: 1000,
        cpu_cores: 0.05,
        subscriptions: 63,
        down_tracks: 63,
        relayed_sent_pps: 0,
        relayed_received_pps: 200,
      },
    ]);
  });

  it('a restarted worker (counter lower than before) counts zero, not negative', () => {
    const before = parseWorkerMetrics(exposition([1000, 500], [1, 2]));
    const after = parseWorkerMetrics(exposition([200, 600], [0.1, 2.1]));
    const [w0] = workerShares(before, after, 1);
    assert.equal(w0!.forwarded_pps, 0);
    assert.equal(w0!.cpu_cores, 0);
    assert.deepEqual(parseWorkerMetrics('').forwarded.size, 0);
  });
});

describe('bench: worker ports', () => {
  it('finds consecutive free UDP ports (one per media worker) and leaves them free', async () => {
    const first = await freeUdpPorts(3);
    for (let i = 0; i < 3; i++) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(first + i, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
});
