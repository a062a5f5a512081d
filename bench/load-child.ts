// The signalling scenario's load processes (bench/http-load.ts, bench/signalling-load.ts) and the
// orchestrator's handle on them: one small IPC protocol. `setup` prepares (users, rooms, sockets;
// not measured), `go` starts the load, `stats` reads the cumulative counters and the latencies
// recorded since the previous `stats`, `stop` ends the load and the process.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import path from 'node:path';
import { stopChild } from './processes.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Counters (cumulative) and latency samples (ms, since the previous read) of a load process. */
export interface LoadCounters {
  counters: Record<string, number>;
  latenciesMs: Record<string, number[]>;
  /** The first failure seen, for the report (the load goes on). */
  firstError?: string | undefined;
}

export type ToChild =
  | { type: 'setup'; config: unknown }
  | { type: 'go' }
  | { type: 'stats' }
  | { type: 'stop' };
export type FromChild =
  | { type: 'listening' }
  | { type: 'ready' }
  | { type: 'stats'; stats: LoadCounters }
  | { type: 'error'; message: string };

/** Most latency samples kept per kind between two reads (the rest are counted, not kept). */
export const LATENCY_SAMPLES_MAX = 100_000;

/** Latency samples per kind, bounded; `take` hands them over and starts again. */
export class LatencyLog {
  #samples: Record<string, number[]> = {};

  add(kind: string, ms: number): void {
    const list = this.#samples[kind];
    if (list === undefined) this.#samples[kind] = [ms];
    else if (list.length < LATENCY_SAMPLES_MAX) list.push(ms);
  }

  take(): Record<string, number[]> {
    const out = this.#samples;
    this.#samples = {};
    return out;
  }
}

/** The child side: answers the orchestrator's messages with the given operations. */
export function serveLoad(ops: {
  setup(config: unknown): Promise<void>;
  go(): void;
  stats(): LoadCounters;
  stop(): Promise<void>;
}): void {
  const send = (msg: FromChild) => process.send?.(msg);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Bounded: a load that does not wind down in 3 s is ended anyway.
    const timer = setTimeout(() => process.exit(0), 3000);
    ops.stop().finally(() => {
      clearTimeout(timer);
      process.exit(0);
    });
  };
  process.on('message', (msg: ToChild) => {
    if (msg.type === 'setup')
      ops.setup(msg.config).then(
        () => send({ type: 'ready' }),
        (err: unknown) => send({ type: 'error', message: String((err as Error)?.stack ?? err) }),
      );
    else if (msg.type === 'go') ops.go();
    else if (msg.type === 'stats') send({ type: 'stats', stats: ops.stats() });
    else stop();
  });
  process.on('disconnect', stop);
  send({ type: 'listening' });
}

/** The orchestrator's side: a load process pinned to `cores` (taskset) when given. */
export class LoadChild {
  readonly child: ChildProcess;
  readonly #waiters: Array<(msg: FromChild) => void> = [];
  readonly #listening: Promise<FromChild>;
  #exited: string | undefined;

  constructor(script: string, cores: string) {
    const file = path.join(ROOT, 'bench', script);
    const stdio: Array<'ignore' | 'inherit' | 'ipc'> = ['ignore', 'inherit', 'inherit', 'ipc'];
    this.child = cores
      ? spawn('taskset', ['-c', cores, process.execPath, file], { stdio, cwd: ROOT })
      : fork(file, [], { stdio, cwd: ROOT });
    this.child.on('message', (msg: FromChild) => {
      for (const w of this.#waiters.splice(0)) w(msg);
    });
    this.child.on('exit', (code) => {
      this.#exited = `${script} exited (${code})`;
      for (const w of this.#waiters.splice(0)) w({ type: 'error', message: this.#exited });
    });
    this.#listening = this.#next(60_000);
  }

  #next(timeoutMs: number): Promise<FromChild> {
    if (this.#exited) return Promise.resolve({ type: 'error', message: this.#exited });
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => resolve({ type: 'error', message: `no answer in ${timeoutMs} ms` }),
        timeoutMs,
      );
      this.#waiters.push((msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
  }

  async setup(config: unknown, timeoutMs: number): Promise<void> {
    const hello = await this.#listening;
    if (hello.type !== 'listening') throw new Error(`load process: ${describe(hello)}`);
    this.child.send({ type: 'setup', config } satisfies ToChild);
    const reply = await this.#next(timeoutMs);
    if (reply.type !== 'ready') throw new Error(`load process setup: ${describe(reply)}`);
  }

  go(): void {
    this.child.send({ type: 'go' } satisfies ToChild);
  }

  async stats(): Promise<LoadCounters> {
    if (this.#exited) throw new Error(this.#exited);
    this.child.send({ type: 'stats' } satisfies ToChild);
    const reply = await this.#next(10_000);
    if (reply.type !== 'stats') throw new Error(`load process stats: ${describe(reply)}`);
    return reply.stats;
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToChild);
    await stopChild(this.child, 5000);
  }
}

function describe(msg: FromChild): string {
  return msg.type === 'error' ? msg.message : `unexpected '${msg.type}'`;
}
