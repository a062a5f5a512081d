// The orchestrator's side of a load generator process: start it with a config, ask for its
// counters, stop it by its PID.
import type { ChildProcess } from 'node:child_process';
import type { ChurnRequest, FromLoad, JoinPhases, LoadConfig, LoadStats } from './load-process.ts';
import { forkLoad, stopChild } from './processes.ts';

export class LoadHandle {
  readonly child: ChildProcess;
  readonly #waiters: Array<(msg: FromLoad) => void> = [];
  #error: string | undefined;
  #listening: Promise<FromLoad> | undefined;
  /** Churn requests waiting for their `done`, by request number. */
  readonly #pending = new Map<number, (error: string | undefined) => void>();
  #nextReq = 0;
  /** Join progress of the running `begin` (done, total, failed so far). */
  onProgress: ((progress: { done: number; total: number; failed: number }) => void) | undefined;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (msg: FromLoad) => {
      if (msg.type === 'done') {
        this.#pending.get(msg.req)?.(msg.error);
        this.#pending.delete(msg.req);
        return;
      }
      if (msg.type === 'progress') {
        this.onProgress?.(msg);
        return;
      }
      if (msg.type === 'error') this.#error = msg.message;
      for (const w of this.#waiters.splice(0)) w(msg);
    });
    child.on('exit', (code) => {
      this.#error ??= `load process exited (${code})`;
      for (const w of this.#waiters.splice(0)) w({ type: 'error', message: this.#error });
      for (const answer of this.#pending.values()) answer(this.#error);
      this.#pending.clear();
    });
  }

  /** Forks the process now (it loads while the system under test starts); `begin` gives it work. */
  static spawn(cores: string): LoadHandle {
    const load = new LoadHandle(forkLoad(cores));
    load.#listening = load.#next(60_000);
    return load;
  }

  /** Sends the config once the process listens; resolves when its peers have joined. */
  async begin(
    config: LoadConfig,
    timeoutMs: number,
  ): Promise<{ joinFailures: string[]; phasesMs: JoinPhases }> {
    const hello = await this.#listening;
    if (hello?.type !== 'listening')
      throw new Error(`load process: ${hello?.type === 'error' ? hello.message : 'did not start'}`);
    this.child.send({ type: 'start', config });
    const reply = await this.#next(timeoutMs);
    if (reply.type !== 'ready')
      throw new Error(`load process: ${reply.type === 'error' ? reply.message : reply.type}`);
    return { joinFailures: reply.joinFailures, phasesMs: reply.phasesMs };
  }

  #next(timeoutMs: number): Promise<FromLoad> {
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

  /** A soak operation (bench/churn-peers.ts); rejects with the load process's error. */
  async churn(request: DistributiveOmit<ChurnRequest, 'req'>, timeoutMs = 60_000): Promise<void> {
    if (this.#error) throw new Error(this.#error);
    const hello = await this.#listening;
    if (hello?.type !== 'listening') throw new Error('load process did not start');
    const req = ++this.#nextReq;
    const error = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(req);
        resolve(`${request.type}: no answer in ${timeoutMs} ms`);
      }, timeoutMs);
      this.#pending.set(req, (e) => {
        clearTimeout(timer);
        resolve(e);
      });
      this.child.send({ ...request, req });
    });
    if (error !== undefined) throw new Error(error);
  }

  async stats(): Promise<LoadStats> {
    if (this.#error) throw new Error(this.#error);
    this.child.send({ type: 'stats' });
    const reply = await this.#next(10_000);
    if (reply.type !== 'stats')
      throw new Error(`load process: ${reply.type === 'error' ? reply.message : reply.type}`);
    return reply.stats;
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'stop' });
    await stopChild(this.child, 3000);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Sums counters of several load processes (latency samples and join times concatenated). */
export function sumStats(all: LoadStats[]): LoadStats {
  const out: LoadStats = {
    packetsSent: 0,
    bytesSent: 0,
    keyframeRequests: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    lost: 0,
    expected: 0,
    sampled: 0,
    authFailures: 0,
    sendErrors: 0,
    streamErrors: 0,
    latenciesUs: [],
    firstRtpMs: [],
    subscriptions: 0,
    subscriptionsWithMedia: 0,
    layerRequests: 0,
  };
  for (const s of all) {
    for (const k of [
      'packetsSent',
      'bytesSent',
      'keyframeRequests',
      'packetsReceived',
      'bytesReceived',
      'lost',
      'expected',
      'sampled',
      'authFailures',
      'sendErrors',
      'streamErrors',
      'subscriptions',
      'subscriptionsWithMedia',
      'layerRequests',
    ] as const)
      out[k] += s[k];
    for (const l of s.latenciesUs) out.latenciesUs.push(l);
    for (const f of s.firstRtpMs) out.firstRtpMs.push(f);
  }
  return out;
}
