import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startEgressHttpServer } from '../api/egress-http.ts';
import type { Config } from '../config.ts';
import { type NodeInfo, type NodeLoad, RedisNodeDirectory } from '../dispatcher/index.ts';
import { NodeId, type RoomId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { MediaWorkerSnapshot } from '../lib/media-counters.ts';
import { registerMediaMetrics } from '../lib/media-metrics.ts';
import { startMetricsHttpServer } from '../lib/metrics-http-server.ts';
import { startSfuGrpcServer } from '../rpc/index.ts';
import type { CreateEgress, EgressHttp } from '../sfu/egress-backend.ts';
import { announcedIps, createSfu } from '../sfu/index.ts';
import { resolvePublicIp } from '../transport/public-address.ts';
import { deferredEgressHttp } from './egress-loader.ts';

/** A node reports every HEARTBEAT_MS; its entry expires NODE_TTL_MS after the last report. */
export const HEARTBEAT_MS = 1000;
export const NODE_TTL_MS = 3000;

export interface RunningSfuNode {
  nodeId: NodeId;
  /** gRPC address signalling instances dial (`host:port`). */
  address: string;
  /** Stops taking rooms; resolves when its rooms are empty or after DRAIN_TIMEOUT_SECONDS. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `bbmeet sfu`: the media workers, the SfuApi served over gRPC on SFU_PORT, and the node's entry in
 * Redis, refreshed every second with its load (it also re-creates the entry and its room mappings
 * after a Redis restart).
 */
export async function startSfuNode(
  config: Config,
  logger: Logger,
  options: { egress?: CreateEgress } = {},
): Promise<RunningSfuNode> {
  const { cluster, media } = config;
  if (!cluster.redisUrl) throw new Error('bbmeet sfu needs REDIS_URL');
  const nodeId = NodeId(cluster.nodeId ?? `sfu-${hostname()}-${cluster.sfuPort}`);
  const log = logger.child({ nodeId });
  // EGRESS_ENABLED: packages/egress's createEgress goes to the SFU, its HTTP side on EGRESS_HTTP_PORT.
  const egress = options.egress ? deferredEgressHttp(options.egress) : undefined;
  // Before the workers start: they take the address they announce at start.
  const publicIp = await resolvePublicIp(media, { logger: log.child({ component: 'public-ip' }) });
  const sfu = await createSfu({
    workers: media.workers,
    portMin: media.portMin,
    portMax: media.portMax,
    tcpPortMin: media.tcpPortMin,
    udpCandidates: media.udpCandidates,
    publicIp,
    publicIp6: media.publicIp6,
    ipv6: media.ipv6,
    nodeId,
    logLevel: config.log.level,
    logger: log.child({ component: 'sfu' }),
    iceConsentTimeoutMs: media.iceConsentTimeoutMs,
    roomCodecPolicy: media.roomCodecPolicy,
    workerNice: media.workerNice,
    egress: egress?.create,
    egressSettings: egress ? config.egress.settings : undefined,
  });
  const egressServer = await startNodeEgressHttp(config, log, egress?.http).catch(async (err: unknown) => {
    await sfu.stop();
    throw err;
  });
  const metricsServer = await startNodeMetricsHttp(config, log, () => sfu.pool.mediaReports()).catch(
    async (err: unknown) => {
      await egressServer?.close();
      await sfu.stop();
      throw err;
    },
  );
  const grpc = await startSfuGrpcServer(sfu.sfu, {
    host: cluster.sfuHost,
    port: cluster.sfuPort,
    nodeId,
    logger: log.child({ component: 'grpc' }),
  }).catch(async (err: unknown) => {
    await metricsServer?.close();
    await egressServer?.close();
    await sfu.stop();
    throw err;
  });
  const redis = new Redis(cluster.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 5000 });
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  const directory = new RedisNodeDirectory({ redis });
  const address = `${advertisedHost(config)}:${grpc.port}`;
  const usage = cpuMeter();
  let draining = false;
  const load = (): { load: NodeLoad; rooms: RoomId[] } => {
    const workers = sfu.pool.placement();
    // A room spanning several workers is listed by each of them.
    const rooms = [...new Set(workers.flatMap((w) => w.rooms))];
    return {
      rooms,
      load: {
        cpu: usage(),
        // Datagrams in and out per second, as the media workers last reported them (every second).
        packetsPerSecond: Math.round(workers.reduce((n, w) => n + w.packetsPerSecond, 0)),
        participants: workers.reduce((n, w) => n + w.participants, 0),
        rooms: rooms.length,
        freePorts: Math.max(0, media.portMax - media.portMin + 1 - workers.length),
        draining,
      },
    };
  };
  const heartbeat = new Heartbeat(log, async () => {
    const { load: current, rooms } = load();
    const info: NodeInfo = {
      nodeId,
      address,
      groupId: cluster.groupId,
      load: current,
      updatedAtMs: Date.now(),
    };
    await directory.heartbeat(info, { ttlMs: NODE_TTL_MS, rooms });
  });
  await heartbeat.beat();
  heartbeat.start();
  log.info({ address, group: cluster.groupId }, 'SFU node registered');

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      heartbeat.stop();
      await directory.unregister(nodeId).catch((err: unknown) => log.warn({ err }, 'unregister failed'));
      await grpc.close();
      await metricsServer?.close();
      await egressServer?.close();
      await sfu.stop();
      // QUIT lets a heartbeat still in flight finish instead of rejecting it unhandled.
      await redis.quit().then(undefined, () => redis.disconnect());
    })();
    return closed;
  };
  return {
    nodeId,
    address,
    async drain() {
      draining = true;
      await heartbeat.beat();
      const deadline = Date.now() + cluster.drainTimeoutMs;
      log.info({ rooms: load().rooms.length, timeoutMs: cluster.drainTimeoutMs }, 'draining: no new rooms');
      while (load().rooms.length > 0 && Date.now() < deadline && !closed)
        await new Promise((resolve) => setTimeout(resolve, 500));
      log.info({ rooms: load().rooms.length }, 'drained');
    },
    close,
  };
}

/** The node's `/egress/` server on EGRESS_HTTP_PORT (SFU_HOST); none without egress or the port. */
async function startNodeEgressHttp(
  config: Config,
  log: Logger,
  http: EgressHttp | undefined,
): Promise<{ close(): Promise<void> } | undefined> {
  if (!http) return undefined;
  const port = config.egress.httpPort;
  if (port === undefined) {
    log.warn('egress is enabled without EGRESS_HTTP_PORT: this node serves no playlists or recordings');
    return undefined;
  }
  const server = await startEgressHttpServer(http, {
    host: config.cluster.sfuHost,
    port,
    timeouts: config.http.timeouts,
  });
  log.info({ port: server.port }, 'egress HTTP server listening');
  return server;
}

/**
 * The node's `GET /metrics` on SFU_METRICS_PORT (SFU_HOST): the process metrics and the media
 * path metrics of its workers; none without the port.
 */
async function startNodeMetricsHttp(
  config: Config,
  log: Logger,
  workers: () => MediaWorkerSnapshot[],
): Promise<{ close(): Promise<void> } | undefined> {
  const port = config.cluster.sfuMetricsPort;
  if (port === undefined) return undefined;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bbmeet_' });
  registerMediaMetrics(registry, workers);
  const server = await startMetricsHttpServer({ registry, host: config.cluster.sfuHost, port });
  log.info({ port: server.port }, 'metrics HTTP server listening');
  return server;
}

/** Runs `beat` every HEARTBEAT_MS, one at a time; failures are logged once per outage. */
class Heartbeat {
  readonly #log: Logger;
  readonly #beat: () => Promise<void>;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #failing = false;

  constructor(log: Logger, beat: () => Promise<void>) {
    this.#log = log;
    this.#beat = beat;
  }

  async beat(): Promise<void> {
    try {
      await this.#beat();
      if (this.#failing) this.#log.info('heartbeat restored: node registered again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#log.warn({ err }, 'heartbeat failed (Redis unreachable?); retrying');
      this.#failing = true;
    }
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.beat().finally(loop);
      }, HEARTBEAT_MS);
    };
    loop();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}

/** CPU used by the whole process (every thread) since the previous call, in cores. */
function cpuMeter(): () => number {
  let last = process.cpuUsage();
  let lastAt = performance.now();
  return () => {
    const now = performance.now();
    const used = process.cpuUsage(last);
    last = process.cpuUsage();
    const elapsedUs = Math.max(1, (now - lastAt) * 1000);
    lastAt = now;
    return Math.round(((used.user + used.system) / elapsedUs) * 100) / 100;
  };
}

/** SFU_ADVERTISED_HOST, else a specific SFU_HOST, else PUBLIC_IP, else this machine's first IPv4. */
function advertisedHost(config: Config): string {
  const { sfuAdvertisedHost, sfuHost } = config.cluster;
  if (sfuAdvertisedHost) return sfuAdvertisedHost;
  if (sfuHost !== '0.0.0.0' && sfuHost !== '::') return sfuHost;
  return announcedIps(config.media.publicIp)[0] ?? '127.0.0.1';
}
