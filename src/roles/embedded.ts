import { hostname } from 'node:os';
import { mountEgressHttp } from '../api/egress-http.ts';
import { apiRoutes, createHttpServer, registerDocs, registerWhep } from '../api/index.ts';
import { guestRoutes } from '../api/routes/guest.ts';
import { registerWebApp } from '../api/routes/web-app.ts';
import { registerWhip } from '../api/routes/whip.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../lib/logger.ts';
import type { MediaWorkerSnapshot } from '../lib/media-counters.ts';
import { registerMediaMetrics } from '../lib/media-metrics.ts';
import { Metrics } from '../lib/metrics.ts';
import { dumpCounts, type EgressStats } from '../protocol/index.ts';
import type { ParticipantControl } from '../protocol/participant-control.ts';
import type { RoomBroadcaster } from '../protocol/room-broadcaster.ts';
import type { SfuApi, SfuDump } from '../protocol/sfu-api.ts';
import type { CreateEgress, EgressHttp } from '../sfu/egress-backend.ts';
import { createSfu, unavailableSfu } from '../sfu/index.ts';
import { createSignalling, type SignallingOptions } from '../signalling/index.ts';
import { openStore } from '../store/index.ts';
import { resolvePublicIp } from '../transport/public-address.ts';
import { WebhookMetrics, WebhookSink } from '../webhooks/index.ts';
import { deferredEgressHttp } from './egress-loader.ts';

/** How long a shutdown waits for queued webhook events to be delivered. */
const WEBHOOK_FLUSH_DEADLINE_MS = 10_000;

export interface RunningServer {
  /** The port the HTTP server listens on (useful with APP_PORT=0 in tests). */
  port: number;
  /** The media side, for leak checks (`dump()`). */
  sfu: SfuApi;
  url: string;
  close(): Promise<void>;
}

/**
 * `bbmeet start`: signalling, REST API and SFU in one process, with the embedded database unless
 * DATABASE_URL points at PostgreSQL. No Redis, no gRPC.
 */
export async function startEmbedded(
  config: Config,
  logger: Logger,
  options: { defaultMetrics?: boolean; egress?: CreateEgress } = {},
): Promise<RunningServer> {
  const nodeId = config.cluster.nodeId ?? `embedded-${hostname()}`;
  // EGRESS_ENABLED: packages/egress's createEgress goes to the SFU, its HTTP side under /egress/.
  const egress = options.egress ? deferredEgressHttp(options.egress) : undefined;
  const media = config.media.enabled
    ? await createSfu({
        workers: config.media.workers,
        portMin: config.media.portMin,
        portMax: config.media.portMax,
        tcpPortMin: config.media.tcpPortMin,
        udpCandidates: config.media.udpCandidates,
        publicIp: await resolvePublicIp(config.media, { logger: logger.child({ component: 'public-ip' }) }),
        publicIp6: config.media.publicIp6,
        ipv6: config.media.ipv6,
        nodeId,
        logLevel: config.log.level,
        logger: logger.child({ component: 'sfu' }),
        iceConsentTimeoutMs: config.media.iceConsentTimeoutMs,
        roomParticipantsPerWorker: config.media.roomParticipantsPerWorker,
        roomCodecPolicy: config.media.roomCodecPolicy,
        workerNice: config.media.workerNice,
        egress: egress?.create,
        egressSettings: egress ? config.egress.settings : undefined,
      })
    : undefined;
  try {
    return await startSignallingServer(config, logger, {
      sfu: media?.sfu ?? unavailableSfu(),
      nodeId,
      defaultMetrics: options.defaultMetrics,
      ...(media && scrapeDumps(() => media.sfu.dump())),
      mediaWorkers: media && (() => media.pool.mediaReports()),
      onClose: () => media?.stop(),
      egressHttp: egress?.http,
    });
  } catch (err) {
    await media?.stop();
    throw err;
  }
}

export interface SignallingServerOptions {
  /** Where media operations go: the in-process SFU, or the dispatcher of a cluster. */
  sfu: SfuApi;
  nodeId: string;
  defaultMetrics?: boolean;
  /**
   * Live media objects by kind, exposed as `bbmeet_media_objects` (the in-process SFU only: a
   * cluster's dispatcher would ask every node at each scrape).
   */
  mediaCounts?: (() => Promise<Record<string, number>>) | undefined;
  /** Egress counters since start, exposed as `bbmeet_egress_*` (the in-process SFU only, likewise). */
  egressStats?: (() => Promise<EgressStats | undefined>) | undefined;
  /** The media workers' reports, exposed as the `bbmeet_media_*` path metrics (the in-process SFU only). */
  mediaWorkers?: (() => MediaWorkerSnapshot[]) | undefined;
  /** socket.io adapter sharing rooms between signalling instances (cluster mode). */
  adapter?: SignallingOptions['adapter'];
  readinessChecks?: Array<{ name: string; check: () => Promise<void> }>;
  /** Served under `/egress/` on this server (EGRESS_ENABLED, embedded). */
  egressHttp?: EgressHttp | undefined;
  /** Runs after signalling and HTTP closed (stops what the role started). */
  onClose?: () => Promise<void> | void;
}

/**
 * REST API, docs, demo page and socket.io signalling on one HTTP server, with the store; media
 * through the SfuApi it is given. Shared by `bbmeet start` and `bbmeet signalling`.
 */
export async function startSignallingServer(
  config: Config,
  logger: Logger,
  options: SignallingServerOptions,
): Promise<RunningServer> {
  const { nodeId, sfu } = options;
  const { database } = config;
  const store = await openStore({
    url: database.url,
    sqlitePath: database.sqlitePath,
    timeouts: { connectTimeoutMs: database.connectTimeoutMs, queryTimeoutMs: database.queryTimeoutMs },
    logger: logger.child({ component: 'store' }),
  });
  // Participants published through this node before a restart have no connection any more.
  await store.participants.deleteByNode(nodeId);
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? true });
  if (options.mediaCounts) metrics.watchMedia(options.mediaCounts);
  if (options.egressStats) metrics.watchEgress(options.egressStats);
  if (options.mediaWorkers) registerMediaMetrics(metrics.registry, options.mediaWorkers);
  let broadcaster: RoomBroadcaster = {
    toRoom: () => undefined,
    evictUser: () => undefined,
    disconnectUser: () => undefined,
  };
  // Set once signalling exists (below); REST is not served before then.
  let participants: ParticipantControl = { mute: () => undefined, remove: () => undefined };
  const deps = {
    store,
    auth: config.auth,
    storage: config.storage,
    broadcaster: {
      toRoom: (...args: Parameters<RoomBroadcaster['toRoom']>) => broadcaster.toRoom(...args),
      evictUser: (...args: Parameters<RoomBroadcaster['evictUser']>) => broadcaster.evictUser(...args),
      disconnectUser: (...args: Parameters<RoomBroadcaster['disconnectUser']>) =>
        broadcaster.disconnectUser(...args),
    },
    logger: logger.child({ component: 'api' }),
    reconnectGraceMs: config.signalling.reconnectGraceMs,
    ice: config.ice,
    rateLimits: config.http.routeRateLimits,
    egress: options.sfu,
    admin: {
      sfu: options.sfu,
      participants: {
        mute: (...args: Parameters<ParticipantControl['mute']>) => participants.mute(...args),
        remove: (...args: Parameters<ParticipantControl['remove']>) => participants.remove(...args),
      },
    },
  };
  const webhooks =
    config.webhooks.urls.length > 0
      ? new WebhookSink({
          urls: config.webhooks.urls,
          secret: config.auth.apiKey,
          metrics: new WebhookMetrics(metrics.registry),
          logger: logger.child({ component: 'webhooks' }),
        })
      : undefined;
  const routes = [...apiRoutes(deps), ...(config.http.guestLogin ? guestRoutes(deps) : [])];
  const app = await createHttpServer({
    deps,
    routes,
    metrics,
    logger: logger.child({ component: 'http' }),
    corsOrigins: config.http.corsOrigins,
    rateLimitPerSecond: config.http.rateLimitPerSecond,
    bodyLimitBytes: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    timeouts: config.http.timeouts,
    readinessChecks: [{ name: 'database', check: () => store.ping() }, ...(options.readinessChecks ?? [])],
  });
  registerDocs(app, routes);
  registerWebApp(app);
  const signalling = createSignalling({
    httpServer: app.server,
    store,
    sfu,
    jwtSecret: config.auth.jwtSecret,
    identitySecret: config.auth.identitySecret,
    nodeId,
    corsOrigins: config.http.corsOrigins,
    trustProxy: config.http.trustProxy,
    ...config.signalling,
    adapter: options.adapter,
    metrics,
    logger: logger.child({ component: 'signalling' }),
    webhooks,
  });
  broadcaster = signalling.broadcaster;
  participants = signalling.participants;
  registerWhip(app, { ...deps, whip: signalling.whip, metrics });
  registerWhep(app, {
    deps,
    sfu,
    metrics,
    peers: signalling.peers,
    logger: logger.child({ component: 'whep' }),
  });
  if (options.egressHttp) mountEgressHttp(app.server, options.egressHttp);
  await app.listen({ port: config.http.port, host: config.http.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const shownHost =
    config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
  let closed: Promise<void> | undefined;
  return {
    port,
    sfu,
    url: `http://${shownHost}:${port}`,
    close() {
      closed ??= (async () => {
        await signalling.close();
        // After the leaves of the closed sockets: their participant_left and room_finished go out too.
        await webhooks?.close(WEBHOOK_FLUSH_DEADLINE_MS);
        await app.close();
        await options.onClose?.();
        await store.close();
      })();
      return closed;
    },
  };
}

/**
 * The metrics read from the SFU's dump at scrape time. One scrape collects every metric at once:
 * a dump already in flight is shared, so a scrape asks the media workers once.
 */
function scrapeDumps(
  dump: () => Promise<SfuDump>,
): Pick<SignallingServerOptions, 'mediaCounts' | 'egressStats'> {
  let inFlight: Promise<SfuDump> | null = null;
  const shared = () => {
    inFlight ??= dump().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  return {
    mediaCounts: () => shared().then(dumpCounts),
    egressStats: () => shared().then((d) => d.egressStats),
  };
}
