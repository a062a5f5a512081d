// packages/egress: egress (EGRESS_ENABLED): live HLS/LL-HLS, recordings and MoQ broadcasts of a
// room's tracks. Loaded by the server with a dynamic import (src/roles/egress-loader.ts); imports
// the core only through src/sfu/egress-backend.ts, src/protocol/, src/rtp/ and src/lib/.
import { mkdir } from 'node:fs/promises';
import type { CreateEgress } from '../../../src/sfu/egress-backend.ts';
import { PublisherEgressSession } from './control/egress-session.ts';
import { EgressStatsCollector } from './control/egress-stats.ts';
import { RecordingUploads } from './control/recording-uploads.ts';
import { EgressRegistry } from './control/registry.ts';
import { EgressHttpRouter } from './http/egress-http.ts';
import { routeConsoleToLogger } from './moq/console-bridge.ts';
import { MoqServer } from './moq/index.ts';
import { S3Uploader } from './storage/index.ts';
import { serveViewer } from './viewer/serve.ts';

/**
 * Builds this process's egress: one MoQ endpoint, the `/egress/` HTTP router, and the registry
 * whose sessions tap publishers through the SFU's EgressSource.
 */
export const createEgress: CreateEgress = async ({ source, settings, logger }) => {
  await mkdir(settings.dataDir, { recursive: true });
  const restoreConsole = routeConsoleToLogger(logger);
  const moq = new MoqServer({ logger });
  const http = new EgressHttpRouter({ dataDir: settings.dataDir, moq, logger });
  http.addPages(serveViewer);
  const uploads = settings.storage ? new RecordingUploads(settings.storage, logger) : null;
  // One bucket client for every live HLS stream mirrored by this process.
  const hlsUploader = settings.storage ? new S3Uploader({ storage: settings.storage, logger }) : null;
  const stats = new EgressStatsCollector();
  const context = { source, settings, moq, logger, stats, hlsUploader };
  const uploadErrors = () => (uploads?.stats().errors ?? 0) + (hlsUploader?.stats().errors ?? 0);
  const registry = new EgressRegistry({
    nodeId: source.nodeId,
    baseUrl: settings.publicUrl,
    logger,
    afterClose: async () => {
      await moq.close();
      hlsUploader?.close();
      restoreConsole();
    },
    stats: (active) => stats.snapshot(active, uploadErrors()),
    create(req, egressId, events) {
      const session = new PublisherEgressSession(req, egressId, events, { ...context, uploads });
      http.serve(egressId, { live: (path) => session.livePlaylist(path) });
      return session;
    },
  });
  return { backend: registry, http };
};
