import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSoakOptions } from '../../bench/soak.ts';
import {
  capacityFromBenchmarks,
  dueSlots,
  firstLifetimeMs,
  lifetimeMs,
  liveObjects,
  parseDuration,
  parseLife,
  parsePrometheus,
  rssGrowth,
  rssTable,
  type SoakSample,
  soakSize,
  thin,
  verdicts,
} from '../../bench/soak-plan.ts';

const sample = (t_s: number, rss_mb: number | null): SoakSample => ({
  t_s,
  rss_mb,
  heap_used_mb: 50,
  cpu_cores: 0.1,
  lag_p99_ms: 12,
  lag_max_ms: 40,
  loss: 0,
  live: 10,
  joins: t_s,
  join_failures: 0,
  leaves: t_s,
  leave_failures: 0,
});

/** A deterministic [0, 1) sequence. */
const sequence = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('bench soak: size and options', () => {
  it('durations read as 30m, 180s, 1h or plain seconds; nonsense is refused', () => {
    assert.equal(parseDuration('30m'), 1800);
    assert.equal(parseDuration('180s'), 180);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('45'), 45);
    assert.throws(() => parseDuration('3 minutes'), TypeError);
    assert.throws(() => parseDuration('0m'), TypeError);
  });

  it('the life range is MIN-MAX seconds with MIN ≤ MAX', () => {
    assert.deepEqual(parseLife('30-120'), { minS: 30, maxS: 120 });
    assert.throws(() => parseLife('120-30'), TypeError);
    assert.throws(() => parseLife('0-5'), TypeError);
  });

  it('the capacity is the headline step of the last full run in BENCHMARKS.md, none for a --quick run', () => {
    const page = (mode: string) =>
      `# Benchmarks\n<!-- bench:results:start -->\n### Last run (2026-11-30T06:20Z, ${mode})\n- Replayed video: VP8; headline step: fanout 128 subscribers (16 per publisher); latency\n<!-- bench:results:end -->\n`;
    assert.equal(capacityFromBenchmarks(page('full')), 128);
    assert.equal(capacityFromBenchmarks(page('--quick')), undefined);
    assert.equal(capacityFromBenchmarks('# Benchmarks\n'), undefined);
  });

  it('70 % of 128 subscribers at fan-out 16 is 90 subscribers in 6 rooms (96 participants)', () => {
    assert.deepEqual(soakSize(128, 0.7, 16), { subscribers: 90, rooms: 6, participants: 96 });
    assert.deepEqual(soakSize(1, 0.1, 16), { subscribers: 1, rooms: 1, participants: 2 });
  });

  it('options default to 30 minutes at 0.7 of the page capacity, warm-up a third capped at 5 minutes', () => {
    const o = parseSoakOptions([], 128);
    assert.ok(o !== 'help');
    assert.equal(o.durationS, 1800);
    assert.equal(o.warmupS, 300);
    assert.equal(o.capacity, 128);
    assert.equal(o.load, 0.7);
    assert.deepEqual(o.life, { minS: 30, maxS: 120 });
    const short = parseSoakOptions(['--duration', '3m', '--capacity', '40'], undefined);
    assert.ok(short !== 'help');
    assert.equal(short.warmupS, 60);
    assert.equal(short.capacity, 40);
    assert.throws(() => parseSoakOptions([], undefined), /pass --capacity/);
    assert.throws(() => parseSoakOptions(['--load', '0'], 128), /--load/);
  });
});

describe('bench soak: churn schedule', () => {
  it('a lifetime is uniform in the range', () => {
    const life = { minS: 30, maxS: 120 };
    assert.equal(
      lifetimeMs(life, () => 0),
      30_000,
    );
    assert.equal(
      lifetimeMs(life, () => 0.5),
      75_000,
    );
    assert.ok(lifetimeMs(life, () => 0.999_999) <= 120_000);
  });

  it('the first participants leave from a third of the shortest life on, spread up to the longest', () => {
    const life = { minS: 30, maxS: 120 };
    assert.equal(
      firstLifetimeMs(life, () => 0),
      10_000,
    );
    assert.equal(
      firstLifetimeMs(life, () => 0.5),
      65_000,
    );
    const random = sequence([0.1, 0.3, 0.5, 0.7, 0.9]);
    const firsts = Array.from({ length: 5 }, () => firstLifetimeMs(life, random));
    assert.equal(new Set(firsts).size, 5, 'no wave: every first departure at its own time');
  });

  it('due slots are those past their time and not busy, soonest first, at most the free operations', () => {
    const slots = [
      { name: 'a', leaveAtMs: 300, busy: false },
      { name: 'b', leaveAtMs: 100, busy: false },
      { name: 'c', leaveAtMs: 200, busy: true },
      { name: 'd', leaveAtMs: 900, busy: false },
      { name: 'e', leaveAtMs: 250, busy: false },
    ];
    assert.deepEqual(
      dueSlots(slots, 500, 2).map((s) => s.name),
      ['b', 'e'],
    );
    assert.deepEqual(dueSlots(slots, 500, 0), []);
    assert.deepEqual(dueSlots(slots, 50, 8), []);
  });
});

describe('bench soak: growth and verdicts', () => {
  it('RSS growth compares the medians of the first and last tenth after warm-up (a GC spike does not count)', () => {
    const samples = [sample(0, 100), sample(10, 150)];
    for (let t = 60; t <= 600; t += 10) samples.push(sample(t, 200 + (t === 600 ? 80 : 0)));
    const g = rssGrowth(samples, 60);
    assert.ok(g);
    assert.equal(g.baseline_mb, 200);
    assert.equal(g.end_mb, 200, 'one high last sample is not the median of the last window');
    assert.equal(g.growth, 0);
  });

  it('RSS climbing with the churn is growth', () => {
    const samples: SoakSample[] = [];
    for (let t = 0; t <= 600; t += 10) samples.push(sample(t, 200 + t / 10));
    const g = rssGrowth(samples, 60);
    assert.ok(g);
    assert.ok(g.growth > 0.2, `growth ${g.growth}`);
    assert.equal(verdicts(g, { media_rooms: 0 }).rss_growth_ok, false);
  });

  it('no growth figure with fewer than two samples after warm-up', () => {
    assert.equal(rssGrowth([sample(0, 100), sample(70, 100)], 60), null);
    assert.equal(rssGrowth([sample(70, null), sample(80, null)], 60), null);
  });

  it('the soak passes only with growth under 5 % and every live object at 0', () => {
    const flat = { baseline_mb: 200, end_mb: 209, growth: 0.045, samples: 30 };
    const empty = { media_rooms: 0, media_transports: 0, participants: 0 };
    assert.deepEqual(verdicts(flat, empty), { rss_growth_ok: true, dump_empty: true, pass: true });
    assert.equal(verdicts({ ...flat, growth: 0.05 }, empty).pass, false);
    assert.deepEqual(verdicts(flat, { ...empty, media_transports: 1 }), {
      rss_growth_ok: true,
      dump_empty: false,
      pass: false,
    });
    assert.equal(verdicts(flat, undefined).dump_empty, false, 'counts never read are not empty');
    assert.equal(verdicts(flat, {}).dump_empty, false);
    assert.equal(verdicts(null, empty).pass, false);
  });
});

describe('bench soak: reading the server and reporting', () => {
  it('the live objects come from bbmeet_media_objects and the signalling gauges of /metrics', () => {
    const metrics = parsePrometheus(
      [
        '# HELP bbmeet_media_objects live media objects',
        '# TYPE bbmeet_media_objects gauge',
        'bbmeet_media_objects{kind="rooms"} 0',
        'bbmeet_media_objects{kind="transports"} 2',
        'bbmeet_rooms 0',
        'bbmeet_participants 1',
        'bbmeet_nodejs_eventloop_lag_p99_seconds 0.012',
      ].join('\n'),
    );
    assert.equal(metrics.get('bbmeet_nodejs_eventloop_lag_p99_seconds'), 0.012);
    assert.deepEqual(liveObjects(metrics), {
      media_rooms: 0,
      media_transports: 2,
      rooms: 0,
      participants: 1,
    });
    assert.equal(liveObjects(parsePrometheus('bbmeet_rooms 0\n')), undefined, 'no media gauge: unknown');
  });

  it('the RSS table keeps the first and last samples and marks the warm-up', () => {
    const samples = Array.from({ length: 100 }, (_, i) => sample(i * 10, 200));
    const rows = thin(samples, 16);
    assert.equal(rows.length, 16);
    assert.equal(rows[0], samples[0]);
    assert.equal(rows.at(-1), samples.at(-1));
    const table = rssTable(samples, 300).split('\n');
    assert.equal(table.length, 18);
    assert.match(table[2]!, /^\| 0m00s \(warm-up\) \| 200\.0 \| 50\.0 \|/);
    assert.match(table.at(-1)!, /^\| 16m30s \| 200\.0 \|/);
  });
});
