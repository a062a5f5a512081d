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
import { applyWorkerNice } from './worker-priority.ts';

await serveWorker(async (data, emit) => {
  const logger = createLogger({ level: data.logLevel, pretty: false }).child({
    component: 'media',
    port: data.port,
  });
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
  // Forwarding ahead of the main thread's work (MEDIA_WORKER_NICE), once nothing is left to start.
  // Not earlier: libuv's thread pool is made by the first thread that queues work on it, and its
  // threads keep that thread's nice value; the certificate above (WebCrypto) has made sure it
  // exists, so the pool serving the main thread's file and crypto work stays at the process's.
  const priority = applyWorkerNice(data.nice);
  if (priority.refused && data.index === 0)
    logger.warn(
      { asked: data.nice, nice: priority.nice, reason: priority.refused },
      'media workers run at their default priority (set MEDIA_WORKER_NICE=0 to silence this)',
    );
  else logger.debug({ nice: priority.nice }, 'media worker priority');
  return new MediaEngine({
    endpoint,
    clock: mediaClock,
    nodeId: data.nodeId,
    emit,
    codecPolicy: data.roomCodecPolicy,
    logger,
  });
});
// With the compile cache on (bin/bbmeet.mjs), write this thread's entries now: a worker that is
// killed rather than stopped would otherwise strip its TypeScript again at the next start.
flushCompileCache();
// Serving: give back the young generation start-up grew (lib/startup-memory.ts; the main thread
// gave this worker gc() and collects its own once every worker is ready).
releaseStartupMemory();
