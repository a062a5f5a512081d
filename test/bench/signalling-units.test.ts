import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATENCY_SAMPLES_MAX, LatencyLog } from '../../bench/load-child.ts';
import { parseOptions } from '../../bench/options.ts';
import {
  countCores,
  perCore,
  phaseFigures,
  quantiles,
  ratio,
  signallingFigures,
  split,
} from '../../bench/signalling-figures.ts';

const phase = (
  name: string,
  count: number,
  cpuSeconds: number,
  extra: Partial<Parameters<typeof phaseFigures>[0]> = {},
) =>
  phaseFigures({
    name,
    seconds: 10,
    cpuSeconds,
    count,
    latencyMs: [1, 2, 3, 4],
    errors: 0,
    loadCpuSeconds: 2,
    loadCores: 1,
    ...extra,
  });

describe('bench signalling: figures', () => {
  it('counts the cores of a taskset list, 0 when not pinned, and refuses what is not one', () => {
    assert.equal(countCores('0'), 1);
    assert.equal(countCores('1-3'), 3);
    assert.equal(countCores('0,2-3'), 3);
    assert.equal(countCores(''), 0);
    assert.throws(() => countCores('a-b'), /not a CPU list/);
    assert.throws(() => countCores('3-1'), /not a CPU list/);
  });

  it('splits work over load processes evenly, the first ones taking the remainder', () => {
    assert.deepEqual(split(10, 3), [4, 3, 3]);
    assert.deepEqual(split(2, 3), [1, 1, 0]);
    assert.equal(
      split(25, 4).reduce((a, b) => a + b, 0),
      25,
    );
  });

  it('per core is operations per second of server CPU; no CPU measured gives null', () => {
    assert.equal(perCore(5000, 0.5), 10_000);
    assert.equal(perCore(5000, 0), null);
    assert.equal(ratio(3000, 12_000), 0.25);
    assert.equal(ratio(3000, 0), null);
    assert.equal(ratio(null, 10), null);
    assert.equal(ratio(10, undefined), null);
  });

  it('a phase: rates over the window, per core from the CPU seconds, the fan-out (deliveries) beside', () => {
    const p = phase('chat', 2000, 4, { fanoutCount: 20_000, parts: { delivery: [5, 6, 7] } });
    assert.equal(p.per_second, 200);
    assert.equal(p.cpu_cores, 0.4);
    assert.equal(p.per_core, 500);
    assert.equal(p.fanout_per_second, 2000);
    assert.equal(p.fanout_per_core, 5000);
    assert.equal(p.latency_p50_ms, 2);
    assert.equal(p.latency_p99_ms, 4);
    assert.deepEqual(p.parts.delivery, { p50_ms: 6, p99_ms: 7 });
    assert.equal(p.load_cpu_cores, 0.2);
    assert.equal(p.load_bound, false);
    assert.equal(phase('x', 1, 1, { loadCpuSeconds: 9 }).load_bound, true);
    assert.deepEqual(quantiles([]), { p50_ms: null, p99_ms: null });
  });

  it('the summary keys: REST routes against the bare route, and all null when the scenario did not run', () => {
    const figures = signallingFigures([
      phase('joins', 3000, 5, { fanoutCount: 9000, parts: { publish: [1, 9] } }),
      phase('chat', 2000, 4, { fanoutCount: 20_000 }),
      phase('rest_token', 40_000, 5),
      phase('rest_join', 10_000, 5),
      phase('bare_fastify', 100_000, 5),
    ]);
    assert.equal(figures.signalling_join_events_per_core, 600);
    assert.equal(figures.signalling_join_publish_p99_ms, 9);
    assert.equal(figures.signalling_chat_messages_per_core, 500);
    assert.equal(figures.signalling_chat_deliveries_per_core, 5000);
    assert.equal(figures.rest_token_rps_per_core, 8000);
    assert.equal(figures.rest_join_rps_per_core, 2000);
    assert.equal(figures.bare_fastify_rps_per_core, 20_000);
    assert.equal(figures.rest_token_ratio_vs_bare, 0.4);
    assert.equal(figures.rest_join_ratio_vs_bare, 0.1);
    assert.equal(figures.signalling_phases?.length, 5);
    const none = signallingFigures(undefined);
    for (const [key, value] of Object.entries(none)) assert.equal(value, null, key);
  });

  it('latency samples are bounded between two reads, and a read starts again', () => {
    const log = new LatencyLog();
    for (let i = 0; i < LATENCY_SAMPLES_MAX + 10; i++) log.add('a', i);
    log.add('b', 1);
    const taken = log.take();
    assert.equal(taken.a?.length, LATENCY_SAMPLES_MAX);
    assert.deepEqual(taken.b, [1]);
    assert.deepEqual(log.take(), {});
  });
});

describe('bench signalling: options', () => {
  it('--scenario signalling runs it alone; all includes it', () => {
    const only = parseOptions(['--scenario', 'signalling']);
    assert.ok(only !== 'help');
    assert.deepEqual(only.scenarios, ['signalling']);
    const all = parseOptions([]);
    assert.ok(all !== 'help');
    assert.deepEqual(all.scenarios, ['fanout', 'meeting', 'audio', 'rooms', 'multicore', 'signalling']);
    const quick = parseOptions(['--quick']);
    assert.ok(quick !== 'help');
    assert.deepEqual(quick.scenarios, ['fanout', 'meeting', 'audio', 'signalling']);
    assert.equal(all.signalling.rooms, 25);
    assert.equal(all.signalling.httpConnections, 32);
  });

  it('--quick is small; the sizes can be given; bad sizes are refused', () => {
    const quick = parseOptions(['--quick', '--scenario=signalling']);
    assert.ok(quick !== 'help');
    assert.equal(quick.signalling.rooms, 3);
    assert.equal(quick.signalling.httpConnections, 8);
    const sized = parseOptions([
      '--scenario',
      'signalling',
      '--signalling-rooms',
      '40',
      '--http-connections',
      '64',
    ]);
    assert.ok(sized !== 'help');
    assert.equal(sized.signalling.rooms, 40);
    assert.equal(sized.signalling.httpConnections, 64);
    assert.throws(() => parseOptions(['--http-connections', '0']), /--http-connections/);
    assert.throws(() => parseOptions(['--signalling-rooms', 'x']), /--signalling-rooms/);
    assert.equal(parseOptions(['--scenario', 'signalling', '--help']), 'help');
  });
});
