import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM_PATH } from './browser.ts';

const run = promisify(execFile);

/**
 * A network namespace joined to this host by a veth pair, for ONE impaired participant: its
 * Chromium runs inside (`chromiumPath` is a wrapper doing `ip netns exec`), everything it
 * exchanges with the server crosses the veth, and only that traffic is impaired:
 * - `cap(kbit)`: tbf on the host end of the veth, i.e. the participant's downlink;
 * - `loss(percent)`: nftables in the namespace drops that share of the UDP packets it receives
 *   (or sends: its uplink), `numgen random mod 100 < percent`, with a counter of what it dropped.
 *
 * The host end has `hostIp`: the server must listen on it (APP_HOST 0.0.0.0) and the page must be
 * opened at `http://<hostIp>:<port>` (the wrapper marks that origin secure for getUserMedia).
 * `close()` removes the namespace (and with it the veth, its qdisc and the namespace's nftables)
 * and the wrapper; call it in `finally`. Needs root, `ip`, `tc` and `nft`: without them it throws,
 * naming what is missing — it never skips silently.
 */
export interface ImpairedNetwork {
  readonly namespace: string;
  readonly hostIp: string;
  readonly namespaceIp: string;
  /** Executable for playwright's `executablePath`: Chromium inside the namespace. */
  readonly chromiumPath: string;
  /** Caps the participant's downlink (host → namespace) with tbf. */
  cap(rateKbit: number): Promise<void>;
  uncap(): Promise<void>;
  /**
   * Drops `percent` % of the UDP packets the participant receives (or, with `direction: 'out'`,
   * sends), at random; the drops of RTP stream `countSsrc` are counted apart
   * (`droppedPackets('counted')`).
   */
  loss(percent: number, options?: { countSsrc?: number; direction?: 'in' | 'out' }): Promise<void>;
  clearLoss(): Promise<void>;
  /** Packets dropped by `loss` since it was set: all of them, or those of `countSsrc`. */
  droppedPackets(which?: 'all' | 'counted'): Promise<number>;
  close(): Promise<void>;
}

let counter = 0;

/** What the harness needs that this machine lacks, or [] when it can run. */
export function missingForImpairment(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, tc and nftables need it)');
  const dirs = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const tool of ['ip', 'tc', 'nft']) {
    if (!dirs.some((d) => existsSync(path.join(d, tool))))
      missing.push(`${tool} (Debian: apt-get install ${tool === 'nft' ? 'nftables' : 'iproute2'})`);
  }
  return missing;
}

export async function createImpairedNetwork(chromium = CHROMIUM_PATH): Promise<ImpairedNetwork> {
  const missing = missingForImpairment();
  if (missing.length > 0)
    throw new Error(`the impairment harness cannot run here: missing ${missing.join(', ')}`);
  const id = `${process.pid % 1000}${counter++}`;
  const namespace = `bbq${id}`;
  const hostDev = `bbqh${id}`;
  const nsDev = `bbqn${id}`;
  // A /30 per harness, out of 10.211/16, chosen from the pid so that parallel runs do not collide.
  const n = (process.pid * 7 + counter * 4) % 16_000;
  const base = (n * 4) & 0xffff;
  const hostIp = `10.211.${base >> 8}.${(base & 0xff) + 1}`;
  const namespaceIp = `10.211.${base >> 8}.${(base & 0xff) + 2}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-netns-'));
  const created: Array<() => Promise<unknown>> = [async () => rm(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const undo of created.reverse()) await undo().catch(() => undefined);
    created.length = 0;
  };
  try {
    await sh('ip', ['netns', 'add', namespace]);
    created.push(() => sh('ip', ['netns', 'delete', namespace]));
    await sh('ip', ['link', 'add', hostDev, 'type', 'veth', 'peer', 'name', nsDev]);
    // Deleting the namespace deletes nsDev and with it its peer; this is for a failure in between.
    created.push(() => sh('ip', ['link', 'delete', hostDev]));
    await sh('ip', ['link', 'set', nsDev, 'netns', namespace]);
    await sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostDev]);
    await sh('ip', ['link', 'set', hostDev, 'up']);
    const inNs = (...args: string[]) => sh('ip', ['netns', 'exec', namespace, ...args]);
    await inNs('ip', 'addr', 'add', `${namespaceIp}/30`, 'dev', nsDev);
    await inNs('ip', 'link', 'set', nsDev, 'up');
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await inNs('ip', 'route', 'add', 'default', 'via', hostIp);
    const wrapper = path.join(dir, 'chromium-in-netns.sh');
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${namespace} ${chromium} "$@"\n`);
    await chmod(wrapper, 0o755);
    async function counter(name: string): Promise<number> {
      const { stdout } =
        lossy === 'out'
          ? await run('nft', ['list', 'counter', 'netdev', uplinkTable, name])
          : await run('ip', [
              'netns',
              'exec',
              namespace,
              'nft',
              'list',
              'counter',
              'inet',
              'bbmeet_impair',
              name,
            ]);
      return Number(/packets (\d+)/.exec(stdout)?.[1] ?? 0);
    }
    let capped = false;
    let lossy: false | 'in' | 'out' = false;
    const uplinkTable = `bbmeet_impair_${id}`;
    const clearLoss = async () => {
      if (lossy === 'in') await inNs('nft', 'delete', 'table', 'inet', 'bbmeet_impair');
      if (lossy === 'out') await sh('nft', ['delete', 'table', 'netdev', uplinkTable]);
      lossy = false;
    };
    // The uplink's table lives in this (the host's) namespace: it goes with the harness.
    created.push(async () => {
      if (lossy === 'out') await sh('nft', ['delete', 'table', 'netdev', uplinkTable]);
    });
    return {
      namespace,
      hostIp,
      namespaceIp,
      chromiumPath: wrapper,
      async cap(rateKbit) {
        // A queue of about 400 ms at the rate (a modest consumer link buffer), a burst of two packets.
        const burstBytes = 3000;
        const limitBytes = Math.round((rateKbit * 1000 * 0.4) / 8) + burstBytes;
        await sh('tc', [
          'qdisc',
          capped ? 'change' : 'add',
          'dev',
          hostDev,
          'root',
          'tbf',
          'rate',
          `${rateKbit}kbit`,
          'burst',
          String(burstBytes),
          'limit',
          String(limitBytes),
        ]);
        capped = true;
      },
      async uncap() {
        if (!capped) return;
        await sh('tc', ['qdisc', 'del', 'dev', hostDev, 'root']);
        capped = false;
      },
      async loss(percent, options = {}) {
        if (!(percent > 0 && percent < 100)) throw new RangeError('percent must be in (0, 100)');
        await clearLoss();
        const p = Math.round(percent);
        // RTP headers are not encrypted by SRTP: the SSRC (payload bytes 8..11) picks one stream.
        const counted =
          options.countSsrc === undefined
            ? ''
            : `udp length > 20 @ih,64,32 ${options.countSsrc >>> 0} jump counted`;
        const rules = `
  counter dropped { }
  counter counted { }
  chain counted {
    numgen random mod 100 < ${p} counter name counted drop
    accept
  }
  chain filter {
    HOOK; policy accept;
    ${counted}
    meta l4proto udp numgen random mod 100 < ${p} counter name dropped drop
  }`;
        if (options.direction === 'out') {
          // Dropped once they left the participant, at the host end of the veth: a drop in the
          // namespace's output hook would fail the sender's sendmsg, and Chromium would resend.
          await sh('sh', [
            '-c',
            `nft -f - <<'NFT'\ntable netdev ${uplinkTable} {${rules.replace('HOOK', `type filter hook ingress device "${hostDev}" priority 0`)}\n}\nNFT`,
          ]);
          lossy = 'out';
        } else {
          await inNs(
            'sh',
            '-c',
            `nft -f - <<'NFT'\ntable inet bbmeet_impair {${rules.replace('HOOK', 'type filter hook input priority 0')}\n}\nNFT`,
          );
          lossy = 'in';
        }
      },
      clearLoss,
      async droppedPackets(which = 'all') {
        if (!lossy) return 0;
        if (which === 'counted') return counter('counted');
        return (await counter('counted')) + (await counter('dropped'));
      },
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function sh(command: string, args: string[]): Promise<void> {
  try {
    await run(command, args);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * Chromium inside the namespace (as launchChromium of browser.ts, plus `origin` treated as secure
 * so that getUserMedia works on the host's veth address).
 */
export async function launchChromiumIn(
  network: ImpairedNetwork,
  origin: string,
): Promise<{ browser: Browser; newContext(): Promise<BrowserContext>; close(): Promise<void> }> {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-chromium-netns-'));
  const browser = await chromium.launch({
    executablePath: network.chromiumPath,
    headless: true,
    env: { ...process.env, TMPDIR: userDataDir },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      `--unsafely-treat-insecure-origin-as-secure=${origin}`,
    ],
  });
  return {
    browser,
    newContext: () => browser.newContext({ permissions: ['camera', 'microphone'] }),
    async close() {
      await browser.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
