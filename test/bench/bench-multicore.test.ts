import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface Spread {
  every_worker_carries_subscribers: boolean;
  relayed_pps: number | null;
  relays: number | null;
  workers: Array<{ worker: number; subscriptions: number; forwarded_pps: number }>;
}

/**
 * `npm run bench -- --quick --scenario multicore`, tiny: one round of each configuration. 80
 * subscribers make the one room 81 participants, past the 50 a worker holds of a room by default,
 * so it spans both workers. No performance threshold: the test checks that the server did spread
 * the load over its two workers, relayed the spanning room's packets, and that the figures exist.
 */
describe('bench --scenario multicore', { timeout: 420_000 }, () => {
  it('runs 1 and 2 media workers, both workers carry subscribers, the spanning room is relayed', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bench', 'bench.ts'),
        '--quick',
        '--scenario',
        'multicore',
        '--subs',
        '80',
        '--duration',
        '2',
        '--no-chromium',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, `bench exited with ${code}:\n${stderr}`);
    const summary = JSON.parse(stdout.trim()) as Record<string, unknown> & {
      skipped: Record<string, string>;
      multicore: { mode: string; one_room: { spread: Spread }; many_rooms: { spread: Spread } };
      multicore_steps: Array<{ media_workers: number; shape: string; out_pps: number }>;
    };
    assert.equal(summary.multicore_steps.length, 4, 'one step of each shape and worker count');
    for (const s of summary.multicore_steps)
      assert.ok(s.out_pps > 0, `${s.shape} ${s.media_workers}w forwarded`);
    const { one_room, many_rooms } = summary.multicore;
    for (const [name, spread] of [
      ['one room', one_room.spread],
      ['many rooms', many_rooms.spread],
    ] as const) {
      assert.equal(spread.workers.length, 2, `${name}: two workers reported`);
      assert.ok(spread.every_worker_carries_subscribers, `${name}: ${JSON.stringify(spread.workers)}`);
    }
    assert.ok((one_room.spread.relays ?? 0) > 0, 'the spanning room relays its publisher’s track');
    assert.ok((one_room.spread.relayed_pps ?? 0) > 0, 'and packets were relayed');
    assert.equal(many_rooms.spread.relays, 0, 'rooms that fit one worker relay nothing');
    const scaling = os.availableParallelism() >= 4 && summary.multicore.mode === 'scaling';
    for (const key of ['multicore_efficiency_one_room', 'multicore_efficiency_many_rooms']) {
      assert.equal(typeof summary[key], 'number', `${key}: ${stderr}`);
      assert.ok((summary[key] as number) > 0);
    }
    if (scaling) assert.equal(typeof summary.multicore_scaling_one_room, 'number');
    else {
      assert.equal(summary.multicore_scaling_one_room, null);
      assert.match(summary.skipped.multicore ?? '', /≥ 4 cores and taskset/);
    }
  });
});
