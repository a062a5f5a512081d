// Sends mutated datagrams of every kind (STUN, forged checks for a real ICE user, DTLS, RTP, RTCP,
// SRTP, SCTP, random bytes) to a media port, paced to a rate, from several loopback addresses that
// are not 127.0.0.1 (so never a legit peer's address and port). Run as a child process by
// test/media/live-fuzz.test.ts; prints one JSON line {sent, elapsedMs, sources} when done.
// Usage: node test/fuzz/udp-flood.ts <host> <port> <count> <seconds> <serverUfrag>
import dgram from 'node:dgram';
import { bindingRequest } from '../fakes/stun-request.ts';
import { corpusSeeds } from './corpus.ts';

const [host, port, count, seconds, ufrag] = process.argv.slice(2) as [string, string, string, string, string];
const total = Number(count);
const BATCH = 250;
const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** xorshift32: fast, seeded, good enough to pick mutations. */
let state = 0x9e3779b9;
function random(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}

const seeds: Buffer[] = [
  ...['stun', 'dtls', 'srtp', 'transport-rtp', 'rtp', 'rtcp', 'sctp'].flatMap((t) =>
    corpusSeeds(t).map((s) => Buffer.from(s)),
  ),
  bindingRequest(`${ufrag}:intruder`, 'wrong-password-012345678'),
  bindingRequest(`${ufrag}:intruder`, 'wrong-password-012345678', { useCandidate: false }),
];

function mutate(): Buffer {
  if (random(10) === 0) {
    const out = Buffer.allocUnsafe(random(1400));
    for (let i = 0; i < out.length; i++) out[i] = random(256);
    return out;
  }
  const seed = seeds[random(seeds.length)]!;
  const out = Buffer.from(seed.subarray(0, random(4) === 0 ? random(seed.length + 1) : seed.length));
  for (let n = random(4) + 1; n > 0 && out.length > 0; n--) {
    const at = random(out.length);
    // Mostly single bytes; sometimes a length-like field made huge.
    if (random(4) === 0 && at + 2 <= out.length) out.writeUInt16BE(0xffff - random(16), at);
    else out[at] = random(256);
  }
  return out;
}

async function openSockets(): Promise<dgram.Socket[]> {
  const sockets: dgram.Socket[] = [];
  for (const address of SOURCES) {
    const socket = dgram.createSocket('udp4');
    // Responses (401s to forged checks) are not read; errors (e.g. ICMP unreachable) are expected.
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    sockets.push(socket);
  }
  return sockets;
}

const sockets = await openSockets();
const started = performance.now();
const perMs = total / (Number(seconds) * 1000);
let sent = 0;
while (sent < total) {
  for (let i = 0; i < BATCH && sent < total; i++, sent++) {
    sockets[sent % sockets.length]!.send(mutate(), Number(port), host);
  }
  // Pace: wait until the schedule catches up with what was sent (sends drain meanwhile).
  const aheadMs = sent / perMs - (performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, aheadMs)));
}
const elapsedMs = Math.round(performance.now() - started);
for (const s of sockets) s.close();
process.stdout.write(`${JSON.stringify({ sent, elapsedMs, sources: SOURCES })}\n`);
