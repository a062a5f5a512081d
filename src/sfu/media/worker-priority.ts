import os from 'node:os';

/** What asking for a nice value gave: the thread's nice value now, and why it is not the one asked. */
export interface WorkerNiceResult {
  nice: number;
  /** Set when the value asked for was not applied. */
  refused?: string;
}

/**
 * Gives the calling thread (a media worker) the nice value `nice`.
 *
 * Forwarding shares its core with the rest of the process: the main thread's signalling, HTTP,
 * metrics scrapes and garbage collection, and whatever else the machine runs. At equal priority a
 * burst of that work takes the core from a worker for a scheduler slice, and the packets arriving
 * meanwhile wait in the socket: on the bench's one server core, 128 subscribers, the forwarding
 * latency's p99 was 29–40 ms at nice 0 and 2–7 ms at nice −10 (BENCHMARKS.md).
 *
 * On Linux a nice value belongs to a thread, and os.setPriority(0, n) (setpriority(PRIO_PROCESS,
 * 0, n)) changes the calling thread only; elsewhere it would change the whole process, so this
 * does nothing there. A value below the current one needs CAP_SYS_NICE or an RLIMIT_NICE that
 * allows it (systemd LimitNICE=, docker --cap-add SYS_NICE); without it the thread keeps its value
 * and `refused` says so.
 */
export function applyWorkerNice(
  nice: number,
  system: { platform: NodeJS.Platform; setPriority: (pid: number, nice: number) => void } = {
    platform: process.platform,
    setPriority: os.setPriority,
  },
): WorkerNiceResult {
  const current = os.getPriority(0);
  if (nice === current) return { nice };
  if (system.platform !== 'linux')
    return { nice: current, refused: `a per-thread nice value needs Linux (this is ${system.platform})` };
  try {
    system.setPriority(0, nice);
    return { nice: os.getPriority(0) };
  } catch (err) {
    const code = (err as { info?: { code?: string } }).info?.code ?? (err as Error).message;
    return {
      nice: current,
      refused: `${code}: a nice value below ${current} needs CAP_SYS_NICE or RLIMIT_NICE (systemd LimitNICE=${nice}, docker --cap-add SYS_NICE)`,
    };
  }
}
