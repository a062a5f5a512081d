import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scenarioOf } from '../../bench/bench.ts';
import { childTicks, egressCosts, parseProcStat, ticksBetween } from '../../bench/egress-costs.ts';

describe('egress bench: /proc parsing', () => {
  it('parseProcStat reads pid, command, parent and utime + stime, with spaces and parentheses in the command', () => {
    const rest = 'S 4242 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0 900 1000 100';
    assert.deepEqual(parseProcStat(`5150 (ffmpeg) ${rest}`), {
      pid: 5150,
      comm: 'ffmpeg',
      ppid: 4242,
      cpuTicks: 281,
    });
    assert.equal(parseProcStat(`77 (a (b) c) ${rest}`)?.comm, 'a (b) c');
    assert.equal(parseProcStat(`77 (a (b) c) ${rest}`)?.cpuTicks, 281);
    assert.equal(parseProcStat('not a stat line'), undefined);
  });

  it('childTicks finds no ffmpeg child of a process that has none (this test runner)', () => {
    assert.equal(childTicks(process.pid).size, 0);
  });

  it('ticksBetween counts the children alive at the end, from 0 for one that started in the window', () => {
    const start = new Map([
      [10, 100],
      [11, 50],
    ]);
    const end = new Map([
      [10, 160],
      [12, 30],
    ]);
    assert.equal(ticksBetween(start, end), 60 + 30);
  });
});

describe('egress bench: costs', () => {
  it('each window minus the publishers alone, per stream or subscriber, in milli-cores', () => {
    const costs = egressCosts(
      {
        base: { serverCores: 0.1, ffmpegCores: 0 },
        subscribers: { serverCores: 0.116, ffmpegCores: 0 },
        copy: { serverCores: 0.2, ffmpegCores: 0.06 },
        transcode: { serverCores: 0.14, ffmpegCores: 0.9 },
      },
      { subscribers: 8, copies: 2, transcodes: 2 },
    );
    assert.deepEqual(costs, {
      copy_server_millicores: 50,
      copy_ffmpeg_millicores: 30,
      copy_total_millicores: 80,
      transcode_server_millicores: 20,
      transcode_ffmpeg_millicores: 450,
      transcode_total_millicores: 470,
      subscriber_millicores: 2,
    });
  });

  it('a window that measured less than the baseline (noise) costs 0, never a negative figure', () => {
    const idle = { serverCores: 0.1, ffmpegCores: 0 };
    const costs = egressCosts(
      { base: idle, subscribers: { serverCores: 0.09, ffmpegCores: 0 }, copy: idle, transcode: idle },
      { subscribers: 4, copies: 1, transcodes: 1 },
    );
    assert.equal(costs.subscriber_millicores, 0);
    assert.equal(costs.copy_total_millicores, 0);
  });
});

describe('egress bench: scenario choice', () => {
  it('scenarioOf reads --scenario x and --scenario=x', () => {
    assert.equal(scenarioOf(['--scenario', 'egress', '--duration', '5']), 'egress');
    assert.equal(scenarioOf(['--scenario=egress']), 'egress');
    assert.equal(scenarioOf(['--quick']), undefined);
  });
});
