// The bench stopped by SIGTERM or SIGINT: it stops every process it started (the servers under
// test, the baselines, the load generators, Chromium, and their own children), by PID, removes its
// temporary directories, and exits non-zero (128 + the signal's number) with a message on stderr.
// A second signal while it stops kills what is left at once.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';

let stopping: NodeJS.Signals | undefined;
const tempDirs = new Set<string>();

/** The signal the bench is stopping for, if it is: nothing new is started then. */
export const stoppingFor = (): NodeJS.Signals | undefined => stopping;

/** Removes `dir` if the bench is stopped by a signal before it removes it itself (call the result then). */
export function removeOnStop(dir: string): () => void {
  tempDirs.add(dir);
  return () => tempDirs.delete(dir);
}

/** State (field 3) and parent PID (field 4) of /proc/<pid>/stat; undefined once it is gone. */
function statOf(pid: number | string): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may hold spaces and parentheses).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Whether the process runs (a zombie has exited and waits only to be reaped). */
const running = (pid: number): boolean => {
  const s = statOf(pid);
  return s !== undefined && s.state !== 'Z';
};

/** The running descendants of `root` (children before their own children), from /proc; [] off Linux. */
export function descendantPids(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(entry);
    if (!s || s.state === 'Z') continue;
    const list = children.get(s.ppid);
    if (list) list.push(Number(entry));
    else children.set(s.ppid, [Number(entry)]);
  }
  const out: number[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    const next: number[] = [];
    for (const pid of queue) next.push(...(children.get(pid) ?? []));
    out.push(...next);
    queue = next;
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops every descendant of this process by PID: SIGTERM, then SIGKILL for those still running
 * after `graceMs`. Scans again for any started meanwhile (a few rounds). Resolves with the PIDs.
 */
export async function stopDescendants(graceMs = 5000): Promise<number[]> {
  const stopped: number[] = [];
  for (let round = 0; round < 5; round++) {
    const pids = descendantPids().filter((pid) => !stopped.includes(pid));
    if (pids.length === 0) break;
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (pids.some(running) && Date.now() < deadline) await sleep(50);
    for (const pid of pids) if (running(pid)) signal(pid, 'SIGKILL');
    // SIGKILL is delivered, not waited for: gone means gone before this returns.
    const killed = Date.now() + 2000;
    while (pids.some(running) && Date.now() < killed) await sleep(20);
    stopped.push(...pids);
  }
  return stopped;
}

function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/**
 * On SIGTERM and SIGINT: says so on stderr, stops every process this one started, removes the
 * registered temporary directories and exits with 128 + the signal's number, writing no results.
 */
export function stopChildrenOnSignal(name: string): void {
  const exitCode = (sig: NodeJS.Signals) => 128 + (os.constants.signals[sig] ?? 0);
  let firstAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // A terminal's Ctrl-C reaches `bbmeet bench` and this process both, and the wrapper passes its
    // own on: the same signal within a second is that one event, not a second request.
    if (stopping === sig && Date.now() - firstAt < 1000) return;
    if (stopping) {
      process.stderr.write(`${name}: ${sig} again, killing what is left\n`);
      for (const pid of descendantPids()) signal(pid, 'SIGKILL');
      removeTempDirs();
      process.exit(exitCode(stopping));
    }
    stopping = sig;
    firstAt = Date.now();
    process.stderr.write(`\n${name}: ${sig} received, stopping the processes it started\n`);
    void stopDescendants().then((pids) => {
      removeTempDirs();
      const which = pids.length > 0 ? ` (PIDs ${pids.join(', ')})` : '';
      process.stderr.write(
        `${name}: stopped by ${sig}; ${pids.length} child process(es) stopped${which}; no results\n`,
      );
      process.exit(exitCode(sig));
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
