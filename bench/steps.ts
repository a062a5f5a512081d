// One measured step: a system (the BBMEET server over UDP or over ICE-TCP, the raw UDP forwarder
// or the werift forwarder) under one load shape. Start the system, start the load (publishers first, then subscribers),
// warm up, then read the system's CPU from the OS and the load's counters at both ends of a window.
// Who joins is planned in step-plan.ts; the options and the figures are typed in step-types.ts.

import { LoadHandle, sumStats } from './load-handle.ts';
import type { JoinPhases } from './load-process.ts';
import { machineBusySeconds } from './machine-cpu.ts';
import {
  cpuSeconds,
  freeTcpPort,
  rssBytes,
  startHelper,
  startServer,
  stopChild,
  udpDrops,
  udpSocketDrops,
  workerThreadsNice,
} from './processes.ts';
import { forwardedRate, sampleForwarded } from './server-counters.ts';
import { latencyQuantileMs, scrapeLatencyBuckets } from './server-latency.ts';
import { percentile } from './stats.ts';
import { planStep } from './step-plan.ts';
import { isBbmeet, type StepOptions, type StepResult } from './step-types.ts';
import { scrapeWorkers, type WorkerScrape, workerShares } from './worker-metrics.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Datagrams the kernel dropped at these UDP ports (undefined without ports or off Linux). */
function socketDrops(ports: number[]): number | undefined {
  if (ports.length === 0) return undefined;
  let sum = 0;
  for (const port of ports) {
    const d = udpSocketDrops(port);
    if (d === undefined) return undefined;
    sum += d;
  }
  return sum;
}

export async function runStep(o: StepOptions): Promise<StepResult> {
  const label = `${o.system} ${o.scenario} ${o.size}`;
  o.progress(0, `${label}: starting`);
  // The load processes load their modules while the system under test starts.
  // Publishers in one process, subscribers spread over the others (the meeting: all in one).
  const subscriberProcesses = Math.max(1, o.loadProcesses ?? 1);
  const groupsWanted = o.scenario === 'meeting' ? 1 : 1 + subscriberProcesses;
  const loads: LoadHandle[] = Array.from({ length: groupsWanted }, () => LoadHandle.spawn(o.loadCores));
  let stopSystem: () => Promise<void> = async () => undefined;
  let pid = 0;
  let mediaPorts: number[] = [];
  let workersUrl: string | undefined;
  let server: { baseUrl: string; apiKey: string } | undefined;
  let forwarder: { ip: string; port: number } | undefined;
  let weriftUrl: string | undefined;
  try {
    if (isBbmeet(o.system)) {
      // Its own free TCP port: by default ICE-TCP takes the UDP port's number, which may be taken.
      const env = o.system === 'bbmeet_tcp' ? { PORT_MIN_TCP: String(await freeTcpPort()) } : undefined;
      const workers = o.mediaWorkers ?? 1;
      const s = await startServer({ cores: o.serverCores, profileDir: o.profileDir, env, workers });
      server = s;
      pid = s.pid;
      if (workers > 1) workersUrl = s.baseUrl;
      // Why: over ICE-TCP the UDP socket carries nothing, so its drop counter says nothing.
      if (o.system === 'bbmeet') mediaPorts = s.mediaPorts;
      stopSystem = () => s.stop();
    } else {
      const helper = await startHelper(o.system === 'raw_udp' ? 'raw-forwarder.ts' : 'werift-sfu.ts', {
        cores: o.serverCores,
      });
      pid = helper.pid;
      stopSystem = () => stopChild(helper.child);
      if (o.system === 'raw_udp') {
        forwarder = { ip: '127.0.0.1', port: Number(helper.firstLine) };
        mediaPorts = [forwarder.port];
      } else weriftUrl = helper.firstLine;
    }
  } catch (err) {
    await Promise.all(loads.map((l) => l.stop()));
    throw err;
  }
  try {
    await sleep(500);
    const rssIdle = rssBytes(pid);
    o.progress(0.03, `${label}: provisioning`);
    const p = await planStep(o, server);
    o.progress(0.05, `${label}: joining`);
    const mode = isBbmeet(o.system) ? 'sfu' : o.system === 'werift' ? 'werift' : 'raw';
    const common = {
      mode,
      transport: o.system === 'bbmeet_tcp' ? 'tcp' : 'udp',
      sampleEvery: o.sampleEvery,
      weriftUrl,
      forwarder,
      // 16 joins at a time in all: more DTLS handshakes at once on the load cores only time out.
      concurrency: Math.max(4, Math.ceil(16 / subscriberProcesses)),
      framesFile: o.framesFile,
      paced: !o.unpaced,
    } as const;
    const joinTimeout = 60_000 + p.participants * 2000;
    let joinFailures = 0;
    let joinPhases: JoinPhases = { offer: null, ice: null, dtls: null };
    const joinStartedMs = performance.now();
    const groups = p.together
      ? [p.publishers]
      : [
          p.publishers,
          ...Array.from({ length: subscriberProcesses }, (_, k) =>
            p.subscribers.filter((_, i) => i % subscriberProcesses === k),
          ),
        ];
    const joined = groups.map(() => 0);
    const totalJoins = groups.reduce((n, g) => n + g.reduce((m, x) => m + x.subscribeTo.length, 0), 0);
    const begin = async (g: number) => {
      const participants = groups[g]!;
      if (participants.length === 0) return;
      loads[g]!.onProgress = ({ done }) => {
        joined[g] = done;
        const sum = joined.reduce((a, b) => a + b, 0);
        o.progress(0.05 + (0.05 * sum) / Math.max(1, totalJoins), `${label}: joined ${sum}/${totalJoins}`);
      };
      const { joinFailures: f, phasesMs } = await loads[g]!.begin({ ...common, participants }, joinTimeout);
      if (phasesMs.offer !== null) joinPhases = phasesMs;
      joinFailures += f.length;
      if (f.length) process.stderr.write(`\n${label}: ${f.length} joins failed, first: ${f[0]}\n`);
    };
    // Publishers first (subscribers need their tracks), then the subscriber processes together.
    await begin(0);
    await Promise.all(groups.slice(1).map((_, k) => begin(k + 1)));
    const active = loads.filter((_, g) => (groups[g]?.length ?? 0) > 0);
    const joinSeconds = (performance.now() - joinStartedMs) / 1000;
    const warmupMs = o.warmupSeconds * 1000;
    for (let t = 0; t < warmupMs; t += 250) {
      o.progress(0.1 + (0.2 * t) / warmupMs, `${label}: warming up`);
      await sleep(250);
    }
    // Just after a worker report (the /metrics polling stays out of the CPU window), then the load's.
    const forwarded0 = server ? await sampleForwarded(server.baseUrl).catch(() => undefined) : undefined;
    const first = sumStats(await Promise.all(active.map((l) => l.stats())));
    const cpu0 = cpuSeconds(pid)!;
    const loadCpu0 = active.map((l) => cpuSeconds(l.child.pid!) ?? 0);
    const machine0 = machineBusySeconds();
    const latency0 = server ? await scrapeLatencyBuckets(server.baseUrl).catch(() => undefined) : undefined;
    const drops0 = udpDrops();
    const serverDrops0 = socketDrops(mediaPorts);
    const workers0 = workersUrl ? await scrapeWorkers(workersUrl).catch(() => undefined) : undefined;
    const t0 = performance.now();
    const duringDone =
      o.during && p.firstRoom && server ? o.during({ ...server, ...p.firstRoom }) : undefined;
    const windowMs = o.seconds * 1000;
    while (performance.now() - t0 < windowMs) {
      o.progress(0.3 + (0.65 * (performance.now() - t0)) / windowMs, `${label}: measuring`);
      await sleep(250);
    }
    const cpu1 = cpuSeconds(pid)!;
    const loadCpu1 = active.map((l) => cpuSeconds(l.child.pid!) ?? 0);
    const machine1 = machineBusySeconds();
    const cpuSecondsOfWindow = (performance.now() - t0) / 1000;
    // The server's counter read just after a worker report (its polling outside the CPU window),
    // then the load's at once: the two count over the same window.
    const forwarded1 = server ? await sampleForwarded(server.baseUrl).catch(() => undefined) : undefined;
    const last = sumStats(await Promise.all(active.map((l) => l.stats())));
    const drops1 = udpDrops();
    const serverDrops1 = socketDrops(mediaPorts);
    const seconds = (performance.now() - t0) / 1000;
    const workers1: WorkerScrape | undefined = workersUrl
      ? await scrapeWorkers(workersUrl).catch(() => undefined)
      : undefined;
    const rssLoaded = rssBytes(pid);
    const workerNice = server ? workerThreadsNice(pid) : undefined;
    // The workers report once a second: the last second of the window may be missing.
    const latency1 = server ? await scrapeLatencyBuckets(server.baseUrl).catch(() => undefined) : undefined;
    const serverLatency = (q: number) =>
      latency0 && latency1 ? latencyQuantileMs(latency0, latency1, q) : null;
    if (duringDone) await duringDone;
    const outPackets = last.packetsReceived - first.packetsReceived + (last.lost - first.lost);
    const expected = last.expected - first.expected;
    const cpuCores = (cpu1 - cpu0) / cpuSecondsOfWindow;
    const loadCores = loadCpu1.reduce((a, b, i) => a + b - loadCpu0[i]!, 0) / cpuSecondsOfWindow;
    const lat = last.latenciesUs;
    const mb = (b: number | undefined) => (b === undefined ? null : b / 2 ** 20);
    const subscriptions = last.subscriptions;
    return {
      system: o.system,
      scenario: o.scenario,
      size: o.size,
      publishers: p.publishers.filter((x) => x.publish).length,
      subscriptions,
      participants: p.participants,
      seconds,
      in_pps: (last.packetsSent - first.packetsSent) / seconds,
      out_pps: outPackets / seconds,
      delivered_pps: (last.packetsReceived - first.packetsReceived) / seconds,
      out_mbps: ((last.bytesReceived - first.bytesReceived) * 8) / seconds / 1e6,
      cpu_cores: cpuCores,
      out_pps_per_core: cpuCores > 0 ? outPackets / seconds / cpuCores : 0,
      cpu_millicores_per_subscription: subscriptions > 0 ? (cpuCores * 1000) / subscriptions : 0,
      loss: expected > 0 ? (last.lost - first.lost) / expected : 0,
      latency_p50_ms: lat.length ? percentile(lat, 0.5) / 1000 : null,
      latency_p99_ms: lat.length ? percentile(lat, 0.99) / 1000 : null,
      latency_samples: lat.length,
      server_latency_p50_ms: serverLatency(0.5),
      server_latency_p99_ms: serverLatency(0.99),
      join_first_rtp_p50_ms: last.firstRtpMs.length ? percentile(last.firstRtpMs, 0.5) : null,
      join_first_rtp_p95_ms: last.firstRtpMs.length ? percentile(last.firstRtpMs, 0.95) : null,
      rss_idle_mb: mb(rssIdle),
      rss_loaded_mb: mb(rssLoaded),
      rss_mb_per_participant:
        rssIdle !== undefined && rssLoaded !== undefined
          ? (rssLoaded - rssIdle) / 2 ** 20 / p.participants
          : null,
      join_failures: joinFailures,
      auth_failures: last.authFailures,
      keyframe_requests: last.keyframeRequests,
      subscriptions_with_media: last.subscriptionsWithMedia,
      join_seconds: joinSeconds,
      server_forwarded_pps: forwardedRate(forwarded0, forwarded1),
      layer_requests: last.layerRequests,
      server_socket_drops:
        serverDrops0 !== undefined && serverDrops1 !== undefined ? serverDrops1 - serverDrops0 : null,
      stream_errors: last.streamErrors,
      udp_rcvbuf_drops: drops0 && drops1 ? drops1.rcvbuf - drops0.rcvbuf : null,
      udp_sndbuf_drops: drops0 && drops1 ? drops1.sndbuf - drops0.sndbuf : null,
      load_cpu_cores: loadCores,
      other_cpu_cores:
        machine0 !== undefined && machine1 !== undefined
          ? Math.max(0, (machine1 - machine0) / cpuSecondsOfWindow - cpuCores - loadCores)
          : null,
      join_phase_p50_ms: joinPhases,
      media_workers: server ? (o.mediaWorkers ?? 1) : 0,
      media_worker_nice: workerNice ?? null,
      workers: workers0 && workers1 ? workerShares(workers0, workers1, seconds) : null,
      relays: workers1 ? workers1.relays : null,
      remote_tracks: workers1 ? workers1.remoteTracks : null,
    };
  } finally {
    o.progress(0.97, `${label}: stopping`);
    await Promise.all(loads.map((l) => l.stop()));
    await stopSystem();
    o.progress(1, `${label}: done`);
  }
}
