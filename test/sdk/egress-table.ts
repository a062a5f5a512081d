import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EgressControl } from '../../src/api/deps.ts';
import { SfuError } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import type { EgressInfo, EgressRequest, EgressStopRequest } from '../../src/protocol/egress.ts';
import type { SfuApi } from '../../src/protocol/sfu-api.ts';
import { startSignallingServer } from '../../src/roles/embedded.ts';
import { createSfu } from '../../src/sfu/index.ts';
import { asTestServer, freeUdpPort, type TestServer, testServerConfig } from '../support/server.ts';

/**
 * The demo page's egress controls need a server whose egress routes answer: the real server (REST,
 * signalling, SFU) whose SfuApi egress operations are a table of egresses recording its calls, as
 * in test/api/rest-egress.test.ts. The media side of egress is tested in the egress stage.
 */
export class EgressTable implements EgressControl {
  readonly calls: EgressRequest[] = [];
  readonly egresses = new Map<string, EgressInfo>();

  async startEgress(req: EgressRequest): Promise<EgressInfo> {
    this.calls.push(req);
    const egressId = `eg-${this.egresses.size + 1}`;
    const info: EgressInfo = {
      egressId,
      roomId: req.roomId,
      kind: req.kind,
      participantId: req.participantId,
      state: 'active',
      startedAt: Date.now(),
      endedAt: null,
      reason: null,
      playlist: req.kind === 'hls' ? `${egressId}/master.m3u8` : null,
      files: req.kind === 'recording' ? [`${egressId}/room.webm`] : [],
      moqPath: req.kind === 'moq' ? `${req.roomId}/room` : null,
      nodeId: 'node-a',
      baseUrl: null,
    };
    this.egresses.set(egressId, info);
    return info;
  }

  async stopEgress(req: EgressStopRequest): Promise<EgressInfo> {
    return this.end(req.egressId, 'ended', 'stopped', req.roomId);
  }

  async listEgress(roomId: string): Promise<EgressInfo[]> {
    return [...this.egresses.values()].filter((e) => e.roomId === roomId);
  }

  /** Ends an egress as the backend would (stopped, or failed with a reason). */
  end(egressId: string, state: 'ended' | 'failed', reason: string, roomId?: string): EgressInfo {
    const info = this.egresses.get(egressId);
    if (!info || (roomId !== undefined && info.roomId !== roomId))
      throw new SfuError('not_found', `no egress ${egressId}`);
    const ended = { ...info, state, endedAt: Date.now(), reason };
    this.egresses.set(egressId, ended);
    return ended;
  }
}

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
