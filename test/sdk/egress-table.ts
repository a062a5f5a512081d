import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import type { SfuApi } from '../../src/protocol/sfu-api.ts';
import { startSignallingServer } from '../../src/roles/embedded.ts';
import { createSfu } from '../../src/sfu/index.ts';
import { EgressTable } from '../support/egress-table.ts';
import { asTestServer, freeUdpPort, type TestServer, testServerConfig } from '../support/server.ts';

/** The SFU with its egress operations answered by `table` (everything else untouched). */
function withEgress(sfu: SfuApi, table: EgressTable): SfuApi {
  const ours: Record<string, unknown> = {
    startEgress: table.startEgress.bind(table),
    stopEgress: table.stopEgress.bind(table),
    listEgress: table.listEgress.bind(table),
  };
  return new Proxy(sfu, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in ours) return ours[prop];
      const value = Reflect.get(target, prop, receiver);
      // The SFU's methods use private fields: call them on the SFU itself, not on the proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The embedded server (media on, one worker) on 127.0.0.1 whose egress is `table`. */
export async function startServerWithEgressTable(table: EgressTable): Promise<TestServer> {
  const udpPort = await freeUdpPort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bbmeet-test-'));
  const config = testServerConfig({ dataDir, udpPort, media: true });
  const logger = silentLogger();
  const media = await createSfu({
    workers: 1,
    portMin: udpPort,
    portMax: udpPort,
    publicIp: config.media.publicIp,
    nodeId: 'node-a',
    logLevel: config.log.level,
    logger,
    iceConsentTimeoutMs: config.media.iceConsentTimeoutMs,
    roomParticipantsPerWorker: config.media.roomParticipantsPerWorker,
  });
  const server = await startSignallingServer(config, logger, {
    sfu: withEgress(media.sfu, table),
    nodeId: 'node-a',
    defaultMetrics: false,
    onClose: () => media.stop(),
  }).catch(async (err: unknown) => {
    await media.stop();
    throw err;
  });
  return asTestServer(server, dataDir, udpPort);
}

export { EgressTable };
