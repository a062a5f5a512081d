import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Our root qdisc's handle on `lo`: what `uncap` removes, and nothing else. */
const ROOT = 'bbe0:';
const CLASS = 'bbe0:1';

/**
 * Caps what ONE UDP port on this host receives over loopback: the downlink of a browser that
 * stays on the host, e.g. Firefox, whose media goes to the server over `lo`.
 *
 * Why not the network namespace of impairment.ts: puppeteer launches Firefox and connects to its
 * WebDriver BiDi WebSocket on 127.0.0.1, which inside a namespace is the namespace's own loopback;
 * reaching it takes a TCP forwarder run with `ip netns exec` and a launcher that rewrites the
 * address Firefox prints (and Firefox's Host checks), a chain of processes to keep alive and kill.
 * Here Firefox runs as in every other Firefox test and only its media is shaped.
 *
 * `cap(port, kbit)` puts an htb root on `lo` whose unclassified traffic goes out unshaped (htb's
 * direct queue, as fast as loopback goes: no other process on this machine is slowed), one class
 * at `kbit` with a bfifo of about 400 ms at that rate (as impairment.ts's tbf), and u32 filters
 * sending it only UDP (IPv4 and IPv6) whose destination port is `port`: the packets the server
 * sends to that peer's selected candidate. `uncap()` removes the root when it is ours (idempotent:
 * call it in `finally` and in `after`). A foreign root qdisc on `lo` is left alone: `cap` throws
 * naming it. Needs root and `tc`: without them it throws, naming what is missing — it never skips
 * silently.
 */
export interface LoopbackCap {
  /** Caps UDP to `port` on `lo` at `rateKbit`; again changes the rate (or the port). */
  cap(port: number, rateKbit: number): Promise<void>;
  /** Removes our root qdisc from `lo` when present. */
  uncap(): Promise<void>;
  /** What the capped class let through and dropped since `cap` (zeros when not capped). */
  counters(): Promise<{ sentPackets: number; droppedPackets: number }>;
}

/**
 * Whether what this host sends to `address` crosses `lo`: Linux delivers packets for any of its
 * own addresses over loopback (a browser's host candidate may be eth0's address, not 127.0.0.1).
 */
export function deliveredOverLoopback(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === address));
}

/** What the loopback cap needs that this machine lacks, or [] when it can run. */
export function missingForLoopbackCap(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (tc on lo needs it)');
  if (!['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => existsSync(path.join(d, 'tc'))))
    missing.push('tc (Debian: apt-get install iproute2)');
  return missing;
}

export function createLoopbackCap(): LoopbackCap {
  const missing = missingForLoopbackCap();
  if (missing.length > 0) throw new Error(`the loopback cap cannot run here: missing ${missing.join(', ')}`);
  const uncap = async () => {
    if (await rootIsOurs()) await tc('qdisc', 'del', 'dev', 'lo', 'root');
  };
  return {
    async cap(port, rateKbit) {
      if (!(Number.isInteger(port) && port > 0 && port < 65_536)) throw new RangeError(`bad port ${port}`);
      await uncap();
      const root = await rootQdisc();
      // Loopback's default is noqueue: anything else belongs to someone else on this machine.
      if (!root.startsWith('qdisc noqueue'))
        throw new Error(`lo already has a root qdisc (${root}): not replacing it`);
      await tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', ROOT, 'htb');
      const burstBytes = 3000;
      await tc(
        ...['class', 'add', 'dev', 'lo', 'parent', ROOT, 'classid', CLASS, 'htb'],
        ...['rate', `${rateKbit}kbit`, 'ceil', `${rateKbit}kbit`],
        ...['burst', String(burstBytes), 'cburst', String(burstBytes)],
      );
      const limitBytes = Math.round((rateKbit * 1000 * 0.4) / 8) + burstBytes;
      await tc('qdisc', 'add', 'dev', 'lo', 'parent', CLASS, 'bfifo', 'limit', String(limitBytes));
      // One priority per protocol: tc keeps one protocol per priority.
      for (const [protocol, match, prio] of [
        ['ip', 'ip', '1'],
        ['ipv6', 'ip6', '2'],
      ] as const)
        await tc(
          ...['filter', 'add', 'dev', 'lo', 'parent', ROOT, 'protocol', protocol, 'prio', prio, 'u32'],
          ...['match', match, 'protocol', '17', '0xff', 'match', match, 'dport', String(port), '0xffff'],
          ...['flowid', CLASS],
        );
    },
    uncap,
    async counters() {
      if (!(await rootIsOurs())) return { sentPackets: 0, droppedPackets: 0 };
      const { stdout } = await run('tc', ['-s', 'class', 'show', 'dev', 'lo', 'classid', CLASS]);
      const [, sent, dropped] = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(stdout) ?? [];
      return { sentPackets: Number(sent ?? 0), droppedPackets: Number(dropped ?? 0) };
    },
  };
}

async function rootQdisc(): Promise<string> {
  const { stdout } = await run('tc', ['qdisc', 'show', 'dev', 'lo', 'root']);
  return stdout.trim();
}

async function rootIsOurs(): Promise<boolean> {
  return (await rootQdisc()).startsWith(`qdisc htb ${ROOT} root`);
}

async function tc(...args: string[]): Promise<void> {
  try {
    await run('tc', args);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`tc ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}
