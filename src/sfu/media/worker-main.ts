// Entry point of a media worker thread: a DTLS certificate, the worker's UDP endpoint, and the
// MediaEngine serving the rooms pinned to this worker.
import { flushCompileCache } from 'node:module';
import { createLogger } from '../../lib/logger.ts';
import { releaseStartupMemory } from '../../lib/startup-memory.ts';
import { generateDtlsCertificate } from '../../transport/dtls/dtls-certificate.ts';
import { UdpEndpoint } from '../../transport/udp-endpoint.ts';
import { mediaClock } from './media-clock.ts';
import { MediaEngine } from './media-engine.ts';
import { serveWorker } from './worker-host.ts';

await serveWorker(async (data, emit) => {
  const certificate = await generateDtlsCertificate();
  const endpoint = new UdpEndpoint({
    certificate,
    announcedIps: data.announcedIps,
    announcedIps6: data.announcedIps6,
    consentTimeoutMs: data.iceConsentTimeoutMs,
    udpCandidates: data.udpCandidates,
  });
  await endpoint.bind(data.port);
  if (data.tcpPort !== undefined) await endpoint.listenTcp(data.tcpPort);
  return new MediaEngine({
    endpoint,
    clock: mediaClock,
    nodeId: data.nodeId,
    emit,
    codecPolicy: data.roomCodecPolicy,
    logger: createLogger({ level: data.logLevel, pretty: false }).child({
      component: 'media',
      port: data.port,
    }),
  });
});
// With the compile cache on (bin/bbmeet.mjs), write this thread's entries now: a worker that is
// killed rather than stopped would otherwise strip its TypeScript again at the next start.
flushCompileCache();
// Serving: give back the young generation start-up grew (lib/startup-memory.ts; the main thread
// gave this worker gc() and collects its own once every worker is ready).
releaseStartupMemory();
