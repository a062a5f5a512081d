import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import msgpackParser from 'socket.io-msgpack-parser';
import { connectSocket, login, restClient } from '../support/clients.ts';
import { RawEngineSocket } from '../support/raw-engine-socket.ts';
import { type SpawnedServer, spawnServer } from '../support/spawned-server.ts';

/**
 * Finding 1 (critical): msgpack length bomb before authentication. One binary frame whose str, bin,
 * ext, array or map header claims far more bytes than the frame holds (`c9 ff ff ff ff 00`: ext32
 * claiming 4 GiB) made the decoder allocate the claim, stalling the server for minutes. Each bomb
 * must now be rejected at once: the sender is disconnected and counted, `/healthz` keeps answering
 * within 100 ms and the server's RSS grows by less than 20 MB.
 */

const HEALTH_BUDGET_MS = 100;
const RSS_BUDGET_BYTES = 20 * 1024 * 1024;
const CLOSE_TIMEOUT_MS = 10_000;
const REJECTED_METRIC = 'bbmeet_socket_frames_rejected_total';

type BombType = 'bin' | 'str' | 'ext' | 'array' | 'map';
const PREFIX: Record<BombType, Partial<Record<8 | 16 | 32, number>>> = {
  bin: { 8: 0xc4, 16: 0xc5, 32: 0xc6 },
  str: { 8: 0xd9, 16: 0xda, 32: 0xdb },
  ext: { 8: 0xc7, 16: 0xc8, 32: 0xc9 },
  array: { 16: 0xdc, 32: 0xdd },
  map: { 16: 0xde, 32: 0xdf },
};
const CLAIMS_32 = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 28, 2 ** 30, 2 ** 31, 2 ** 32 - 1];

interface Bomb {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** The header of one value claiming `claim` bytes or elements, with nothing after it. */
function bombHeader(type: BombType, width: 8 | 16 | 32, claim: number): number[] {
  const length = [...Array(width / 8).keys()].map(
    (i) => Math.floor(claim / 256 ** (width / 8 - 1 - i)) % 256,
  );
  // ext type 0 is notepack's ArrayBuffer: the path that allocated and copied the claim.
  return [PREFIX[type][width]!, ...length, ...(type === 'ext' ? [0x00] : [])];
}

function allBombs(): Bomb[] {
  const bombs: Bomb[] = [];
  for (const type of Object.keys(PREFIX) as BombType[]) {
    for (const width of [8, 16, 32] as const) {
      if (PREFIX[type][width] === undefined) continue;
      const claims = width === 8 ? [0xff] : width === 16 ? [0xffff] : CLAIMS_32;
      for (const claim of claims) {
        bombs.push({
          name: `${type}${width} claiming ${claim}`,
          bytes: Uint8Array.from(bombHeader(type, width, claim)),
        });
      }
    }
  }
  return bombs;
}

/** `{type: 2, nsp: '/', data: ['x', <bomb>]}`: the bomb as the argument of an event. */
function insideEvent(bomb: Bomb): Bomb {
  const text = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];
  const prefix = [
    0x83,
    ...text('type'),
    0x02,
    ...text('nsp'),
    ...text('/'),
    ...text('data'),
    0x92,
    ...text('x'),
  ];
  return { name: `${bomb.name} inside an event`, bytes: Uint8Array.from([...prefix, ...bomb.bytes]) };
}

/** Polls `/healthz` and the server's RSS until stopped; keeps every latency and RSS sample. */
class HealthWatch {
  readonly latenciesMs: number[] = [];
  readonly rssBytes: number[] = [];
  #running = true;
  readonly #done: Promise<void>;

  constructor(server: SpawnedServer) {
    this.#done = this.#loop(server);
  }

  async #loop(server: SpawnedServer): Promise<void> {
    while (this.#running) {
      const start = performance.now();
      const res = await fetch(`${server.baseUrl}/healthz`);
      await res.text();
      this.latenciesMs.push(performance.now() - start);
      this.rssBytes.push(server.memory().rssBytes);
      await delay(20);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

async function rejectedFrames(server: SpawnedServer): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${REJECTED_METRIC}{`) || line.startsWith(`${REJECTED_METRIC} `))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const encoder = new msgpackParser.Encoder();

/** A raw connection that completed socket.io's CONNECT with `token` (the login) when one is given. */
async function openRaw(server: SpawnedServer, token: string | undefined): Promise<RawEngineSocket> {
  const raw = await RawEngineSocket.open(server.baseUrl);
  if (token === undefined) return raw;
  const [connect] = encoder.encode({ type: 0, nsp: '/', data: { token } }) as unknown as Buffer[];
  raw.send(new Uint8Array(connect!));
  const reply = Buffer.from(await raw.nextBinary());
  // A CONNECT reply is a map whose `type` is 0; CONNECT_ERROR (4) would mean the login failed.
  assert.ok(
    reply.includes(Buffer.from([0xa4, ...Buffer.from('type'), 0x00])),
    `no CONNECT ack: ${reply.toString('hex')}`,
  );
  return raw;
}

function describeLatencies(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `${latencies.length} probes, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms; all: ${latencies.map((l) => l.toFixed(0)).join(' ')}`;
}

async function sendBombs(server: SpawnedServer, bombs: Bomb[], token: string | undefined): Promise<string> {
  const counted = await rejectedFrames(server);
  // One probe before measuring: the first one also opens the keep-alive connection.
  await (await fetch(`${server.baseUrl}/healthz`)).text();
  const rssBefore = server.memory();
  const watch = new HealthWatch(server);
  try {
    for (const bomb of bombs) {
      const raw = await openRaw(server, token);
      raw.send(bomb.bytes);
      await raw.waitClosed(CLOSE_TIMEOUT_MS).catch((err: unknown) => {
        raw.close();
        throw new Error(`${bomb.name}: the server did not close the sender's connection (${String(err)})`);
      });
    }
  } finally {
    await watch.stop();
  }
  const rssAfter = server.memory();
  const slow = watch.latenciesMs.filter((l) => l >= HEALTH_BUDGET_MS);
  assert.equal(
    slow.length,
    0,
    `/healthz took ${HEALTH_BUDGET_MS} ms or more ${slow.length} times: ${describeLatencies(watch.latenciesMs)}`,
  );
  const growth = Math.max(...watch.rssBytes, rssAfter.rssBytes) - rssBefore.rssBytes;
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  assert.ok(growth < RSS_BUDGET_BYTES, `RSS grew by ${mib(growth)} (from ${mib(rssBefore.rssBytes)})`);
  const peakGrowth = rssAfter.peakRssBytes - rssBefore.peakRssBytes;
  assert.ok(
    peakGrowth < RSS_BUDGET_BYTES,
    `peak RSS grew by ${mib(peakGrowth)} (to ${mib(rssAfter.peakRssBytes)})`,
  );
  assert.equal(
    (await rejectedFrames(server)) - counted,
    bombs.length,
    `${REJECTED_METRIC} must count every bomb`,
  );
  return `${bombs.length} bombs; /healthz ${describeLatencies(watch.latenciesMs).split(';')[0]}; RSS +${mib(growth)}, peak +${mib(peakGrowth)}`;
}

describe('msgpack length bomb (finding 1): declared lengths beyond the frame are rejected before allocating', () => {
  let server: SpawnedServer;
  let token: string;
  const started = Date.now();

  before(async () => {
    server = await spawnServer();
    const user = await login(restClient(server.baseUrl, server.apiKey), 'bomb-sender');
    token = user.token;
    // Warm up the paths the bombs take (socket.io, JWT, store) so that RSS measures the bombs only.
    const warm = await openRaw(server, token);
    warm.close();
    await warm.closed;
  });

  after(async () => {
    await server?.close();
  });

  it('before login: bin, str, ext, array and map bombs of every width close the sender, /healthz stays fast, RSS flat', async (t) => {
    t.diagnostic(await sendBombs(server, allBombs(), undefined));
  });

  it('after login: the same bombs, alone and inside an event, close the sender, /healthz stays fast, RSS flat', async (t) => {
    const bombs = allBombs();
    t.diagnostic(await sendBombs(server, [...bombs, ...bombs.map(insideEvent)], token));
  });

  it('after the bombs a normal client still connects and gets an ack', async () => {
    const socket = await connectSocket(server.baseUrl, token);
    try {
      assert.deepEqual(
        await socket.timeout(5000).emitWithAck('room.subscribe_subtitle', { isEnabled: true }),
        {},
      );
    } finally {
      socket.close();
    }
  });

  it('rejected frames are logged at warn level about once per second, not once per frame', () => {
    const lines = server
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"msg":"socket frame rejected"'));
    const seconds = (Date.now() - started) / 1000;
    assert.ok(lines.length >= 1, 'at least one rejected frame is logged');
    assert.ok(lines.length <= Math.ceil(seconds) + 1, `${lines.length} warnings in ${seconds.toFixed(1)} s`);
    assert.match(lines[0]!, /"level":40/);
  });
});
