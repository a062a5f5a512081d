import { MessageChannel } from 'node:worker_threads';
import { systemClock } from '../../src/lib/clock.ts';
import type { RoomId } from '../../src/lib/ids.ts';
import type { SfuEvent } from '../../src/protocol/sfu-api.ts';
import { MediaEngine } from '../../src/sfu/media/media-engine.ts';
import type { DtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { generateDtlsCertificate } from '../../src/transport/dtls/dtls-certificate.ts';
import { UdpEndpoint } from '../../src/transport/udp-endpoint.ts';

/**
 * Media engines in unit tests, on real UDP endpoints bound on loopback: one alone, or two as two
 * media workers would run them (here in one thread, joined by a real MessageChannel).
 */

/** A UdpEndpoint bound on 127.0.0.1 (an ephemeral port), consent kept for 30 s. */
export async function loopbackEndpoint(certificate: DtlsCertificate): Promise<UdpEndpoint> {
  const endpoint = new UdpEndpoint({ certificate, announcedIps: ['127.0.0.1'], consentTimeoutMs: 30_000 });
  await endpoint.bind(0, '127.0.0.1');
  return endpoint;
}

/** A media engine of node `node` on `endpoint`, on the system clock. */
export function loopbackEngine(
  endpoint: UdpEndpoint,
  emit: (roomId: RoomId, event: SfuEvent) => void,
): MediaEngine {
  return new MediaEngine({ endpoint, clock: systemClock, nodeId: 'node', emit });
}

/**
 * Two media engines (0 and 1) on their own endpoints, each the other's peer over a MessageChannel;
 * what engine `i` emits is given to `emit` with its index.
 */
export async function twoEngines(
  emit: (engine: number, event: SfuEvent) => void,
): Promise<{ engines: MediaEngine[]; endpoints: UdpEndpoint[] }> {
  const certificate = await generateDtlsCertificate();
  const endpoints: UdpEndpoint[] = [];
  const engines: MediaEngine[] = [];
  for (let i = 0; i < 2; i++) {
    const endpoint = await loopbackEndpoint(certificate);
    endpoints.push(endpoint);
    engines.push(loopbackEngine(endpoint, (_roomId, event) => emit(i, event)));
  }
  const { port1, port2 } = new MessageChannel();
  engines[0]!.addPeer(1, port1);
  engines[1]!.addPeer(0, port2);
  return { engines, endpoints };
}

/**
 * Lets the MessageChannel deliver what the engines posted to each other: 30 ms, then until `done`
 * holds (at most 5 s: the assertions after it then say what is missing). The fixed 30 ms alone
 * failed on a loaded machine, where the channel's deliveries and their replies wait for the event
 * loop; it stays as the least wait, for the checks that something did not happen.
 */
export async function settle(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  await new Promise((resolve) => setTimeout(resolve, 30));
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}
