// What the gRPC hop between signalling and an SFU node costs, without media: unary round trips
// (sequential latency and concurrent throughput) and events streamed per second, on loopback.
// Usage: node src/rpc/sfu-grpc.bench.ts [calls=5000]
import { joinRequest } from '../../test/support/join-request.ts';
import { egressDisabled } from '../lib/errors.ts';
import { ParticipantId, RoomId } from '../lib/ids.ts';
import type { SfuApi, SfuDump, SfuEvent } from '../protocol/sfu-api.ts';
import { SfuGrpcClient } from './sfu-grpc-client.ts';
import { startSfuGrpcServer } from './sfu-grpc-server.ts';

const CALLS = Number(process.argv[2] ?? 5000);
const roomId = RoomId('1');
const participantId = ParticipantId('2');
let emit: (e: SfuEvent) => void = () => undefined;

const sfu: SfuApi = {
  join: async () => ({ sdp: 'v=0\r\n', isRecording: false }),
  subscribe: async () => ({ offer: 'v=0\r\n', videoCodec: 'video/VP8' }),
  setSubscriberAnswer: async () => ({ refusedTracks: [] }),
  renegotiatePublisher: async () => ({ sdp: 'v=0\r\n' }),
  addPublisherCandidate: async () => undefined,
  addSubscriberCandidate: async () => undefined,
  setMediaState: async () => undefined,
  leave: async () => undefined,
  startEgress: async () => {
    throw egressDisabled();
  },
  stopEgress: async () => {
    throw egressDisabled();
  },
  listEgress: async () => [],
  inspectRoom: async (roomId) => ({ roomId, nodeId: 'bench', participants: [] }),
  dump: async (): Promise<SfuDump> => ({
    rooms: [],
    transports: 0,
    dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
  }),
  async *events(_room: RoomId, signal: AbortSignal) {
    const queue: SfuEvent[] = [];
    let wake: (() => void) | null = null;
    emit = (e) => {
      queue.push(e);
      wake?.();
    };
    signal.addEventListener('abort', () => wake?.());
    while (!signal.aborted) {
      const e = queue.shift();
      if (e) yield e;
      else await new Promise<void>((r) => (wake = r));
    }
  },
};

const server = await startSfuGrpcServer(sfu, { host: '127.0.0.1', port: 0 });
const client = new SfuGrpcClient(`127.0.0.1:${server.port}`);
const sdp = `v=0\r\n${'a=x:'.padEnd(60, 'y')}\r\n`.repeat(60); // ~4 KB, a typical offer's size
const join = () => client.join(joinRequest(roomId, participantId, sdp));

for (let i = 0; i < 500; i++)
  await client.setMediaState({ roomId, participantId, state: { audioEnabled: true } });

async function sequential(name: string, call: () => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))]!.toFixed(3);
  console.log(`${name}: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms (${CALLS} sequential calls)`);
}

await sequential('setMediaState', () =>
  client.setMediaState({ roomId, participantId, state: { audioEnabled: false } }),
);
await sequential('join (4 KB SDP each way)', join);

const concurrency = 32;
const t0 = performance.now();
let done = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (done < CALLS * 2) {
      done++;
      await client.setMediaState({ roomId, participantId, state: { handRaising: true } });
    }
  }),
);
console.log(
  `setMediaState: ${((done / (performance.now() - t0)) * 1000).toFixed(0)} calls/s (${concurrency} in flight)`,
);

const abort = new AbortController();
let received = 0;
const target = CALLS * 4;
const events = (async () => {
  for await (const _ of client.events(roomId, abort.signal)) if (++received === target) break;
})();
await new Promise((r) => setTimeout(r, 100));
const e0 = performance.now();
for (let i = 0; i < target; i++) {
  emit({ type: 'connectionQuality', participantId, quality: 'good', score: 80 });
  if (i % 256 === 255) await new Promise((r) => setImmediate(r));
}
await events;
console.log(`events: ${((received / (performance.now() - e0)) * 1000).toFixed(0)} events/s on one stream`);
abort.abort();
client.close();
await server.close();
