import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freeUdpPort, freeUdpPorts } from '../../bench/free-ports.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Logger, silentLogger } from '../../src/lib/logger.ts';
import { type RunningServer, startEmbedded } from '../../src/roles/embedded.ts';
import type { CreateEgress } from '../../src/sfu/egress-backend.ts';

export const API_KEY = 'test-api-key';
export const JWT_SECRET = 'test-jwt-secret-0123456789';
export const REFRESH_SECRET = 'test-refresh-secret-0123456789';

export interface TestServer extends RunningServer {
  dataDir: string;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** UDP port of the media worker (0 without media). */
  mediaPort: number;
}

/**
 * The embedded server on 127.0.0.1 and a free port, with its own temporary data directory. The
 * media engine is off unless `media: true` (then one worker on a free UDP port). Logs go nowhere
 * unless a `logger` is given. `egress`: what `bbmeet start --egress` would have loaded.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { media?: boolean; logger?: Logger; egress?: CreateEgress } = {},
): Promise<TestServer> {
  const udpPort = options.media ? await freeUdpPort() : 0;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-test-'));
  const config = testServerConfig({ dataDir, udpPort, media: options.media ?? false, env });
  const server = await startEmbedded(config, options.logger ?? silentLogger(), {
    defaultMetrics: false,
    egress: options.egress,
  });
  return asTestServer(server, dataDir, udpPort);
}

/**
 * The test server with two media workers, on two consecutive ports free for them (freeUdpPorts),
 * each taking `participantsPerWorker` participants of a room before the next one is used.
 */
export async function startTwoWorkerServer(participantsPerWorker: number): Promise<TestServer> {
  const port = await freeUdpPorts(2);
  return startTestServer(
    {
      MEDIA_WORKERS: '2',
      PORT_MIN_UDP: String(port),
      PORT_MAX_UDP: String(port + 1),
      MEDIA_ROOM_PARTICIPANTS_PER_WORKER: String(participantsPerWorker),
    },
    { media: true },
  );
}

/** A started server as a TestServer: its base URL, and closing it removes its data directory. */
export function asTestServer(server: RunningServer, dataDir: string, mediaPort: number): TestServer {
  return {
    ...server,
    dataDir,
    baseUrl: `http://127.0.0.1:${server.port}`,
    mediaPort,
    async close() {
      await server.close();
      // Retried: a failed egress's writers may still add a file while the directory goes
      // (ENOTEMPTY after its ffmpeg was killed, seen once in the egress stage).
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/**
 * The test server's configuration: 127.0.0.1 on a free HTTP port (set after loading), silent logs,
 * the test secrets, and one media worker on `udpPort` when `media`.
 */
export function testServerConfig(o: {
  dataDir: string;
  udpPort: number;
  media: boolean;
  env?: Record<string, string>;
}): Config {
  const config = loadConfig({
    env: {
      APP_PORT: '1',
      APP_HOST: '127.0.0.1',
      DATA_DIR: o.dataDir,
      CLIENT_SECRET_KEY: API_KEY,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_REFRESH_SECRET: REFRESH_SECRET,
      LOG_LEVEL: 'silent',
      MEDIA_ENABLED: o.media ? 'true' : 'false',
      // IPv4 only unless a test asks: Chromium prefers an IPv6 pair when one is offered, and the
      // suite's impaired and blocked paths are IPv4 (test/sdk/demo-ipv6.test.ts turns it on).
      ICE_IPV6_ENABLED: 'false',
      ...(o.media
        ? { MEDIA_WORKERS: '1', PORT_MIN_UDP: String(o.udpPort), PORT_MAX_UDP: String(o.udpPort) }
        : {}),
      ...o.env,
    },
    generateMissingSecrets: true,
    isTty: false,
  });
  // Port 0 is not a valid APP_PORT for users; tests ask the OS for a free one.
  config.http.port = 0;
  return config;
}

/** A media worker's port, free for UDP, IPv6 and TCP (bench/free-ports.ts). */
export { freeUdpPort, freeUdpPorts };
