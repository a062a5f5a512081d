import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { descendantPids, stopDescendants } from '../../bench/interrupt.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Whether the process still runs (gone, or a zombie waiting to be reaped, is not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('stopDescendants', { timeout: 30_000 }, () => {
  it('stops children and their own children by PID, SIGKILL for one that ignores SIGTERM', async () => {
    // A child that ignores SIGTERM, with a grandchild of its own.
    const script = `
      process.on('SIGTERM', () => {});
      const { spawn } = require('node:child_process');
      const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.log(g.pid);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const grandchild = await new Promise<number>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    assert.deepEqual(descendantPids().sort(), [child.pid!, grandchild].sort());
    const stopped = await stopDescendants(500);
    assert.deepEqual(stopped.sort(), [child.pid!, grandchild].sort());
    assert.equal(running(child.pid!), false);
    assert.equal(running(grandchild), false);
    assert.deepEqual(descendantPids(), []);
  });
});

const BENCH_ARGS = [
  '--scenario',
  'fanout',
  '--subs',
  '4',
  '--no-chromium',
  '--no-werift',
  '--no-raw',
  '--no-tcp',
  '--warmup',
  '0',
  '--duration',
  '60',
];

/**
 * The bench stopped by SIGTERM while a step measures (its server and load processes up) stops
 * every process it started and exits non-zero, saying so, without a summary on stdout.
 */
describe('bench stopped by a signal', { timeout: 240_000 }, () => {
  // bench/bench.ts itself, and `bbmeet bench`, which runs it as a child and passes the signal on.
  // A terminal's Ctrl-C: SIGINT to the whole process group, so the bench gets it from the terminal
  // and from the wrapper: one stop, not a forced kill.
  const bench = [path.join(ROOT, 'bench', 'bench.ts'), ...BENCH_ARGS];
  const wrapped = [path.join(ROOT, 'bin', 'bbmeet.mjs'), 'bench', ...BENCH_ARGS];
  const cases = [
    { name: 'bench/bench.ts, SIGTERM', args: bench, sig: 'SIGTERM' as const, group: false, code: 143 },
    { name: 'bbmeet bench, SIGTERM', args: wrapped, sig: 'SIGTERM' as const, group: false, code: 143 },
    { name: 'bbmeet bench, Ctrl-C', args: wrapped, sig: 'SIGINT' as const, group: true, code: 130 },
  ];
  for (const { name, args, sig, group, code: expected } of cases)
    it(`${name}: stops the server and the load processes it started and exits with ${expected}`, async () => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: group,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      try {
        // Bounded: the step's server and loads are up once it measures.
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no step measured in 60 s:\n${stderr}`)), 60_000);
          child.stderr.on('data', (d: Buffer) => {
            stderr = (stderr + d.toString()).slice(-8000);
            if (stderr.includes('measuring')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.once('exit', () => reject(new Error(`the bench exited before measuring:\n${stderr}`)));
        });
        const started = descendantPids(child.pid!);
        // The server and at least one load process (taskset execs node: the same PIDs).
        assert.ok(started.length >= 2, `children of the bench: ${started.join(', ')}`);
        if (group) process.kill(-child.pid!, sig);
        else child.kill(sig);
        let timer: NodeJS.Timeout | undefined;
        const { code, signal } = await Promise.race([
          exited,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`still running 30 s after ${sig}:\n${stderr}`)),
              30_000,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        assert.equal(signal, null, 'the bench exits by itself');
        assert.equal(code, expected, stderr);
        assert.match(
          stderr,
          new RegExp(`bbmeet bench: stopped by ${sig}; \\d+ child process\\(es\\) stopped`),
        );
        assert.doesNotMatch(stderr, /again, killing/);
        assert.equal(stdout, '', 'no summary');
        const left = started.filter(running);
        assert.deepEqual(left, [], `still running after the bench exited: ${left.join(', ')}`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          for (const pid of descendantPids(child.pid!)) process.kill(pid, 'SIGKILL');
          child.kill('SIGKILL');
        }
      }
    });
});
