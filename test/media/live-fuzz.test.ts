/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, type RemoteStats, waitFor } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/**
 * The live fuzz: while two Chromium participants are in a call, a child process sends 1 million
 * mutated datagrams of every kind (test/fuzz/udp-flood.ts) to the server's UDP port from
 * 127.0.0.2-5, paced over ~75 s (about 13 000 a second: ~10 % of one core for the sender, measured).
 * The call keeps its frame rate, the server (in this process) its memory, and the drops are counted.
 */

const DATAGRAMS = 1_000_000;
const FLOOD_SECONDS = 75;
const MEASURE_MS = 5000;
/** The subscriber's frame rate during and after may fall at most to this share of before. */
const FPS_FLOOR = 0.75;
/** RSS growth allowed over the flood: 1 M datagrams of up to 1.4 KB would be ~1.4 GB if kept. */
const RSS_GROWTH_BYTES = 64 * 1024 * 1024;

async function fps(sub: ChromiumParticipant, from: string, ms: number): Promise<number> {
  const start = (await sub.statsFrom(from)) as RemoteStats;
  const startedMs = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const end = (await sub.statsFrom(from)) as RemoteStats;
  return (end.framesDecoded - start.framesDecoded) / ((Date.now() - startedMs) / 1000);
}

function flood(port: number, ufrag: string): Promise<{ sent: number; elapsedMs: number }> {
  const script = new URL('../fuzz/udp-flood.ts', import.meta.url).pathname;
  const args = [script, '127.0.0.1', String(port), String(DATAGRAMS), String(FLOOD_SECONDS), ufrag];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { sent: number; elapsedMs: number });
      else reject(new Error(`udp-flood exited with ${code}: ${out}`));
    });
  });
}

const dropped = (d: { malformed: number; unknownAddress: number; unknownUsername: number }) =>
  d.malformed + d.unknownAddress + d.unknownUsername;

describe('a live call under 1 million mutated datagrams', { timeout: 240_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let users: TestUser[];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    users = [await login(call, 'fuzz-a', 'A'), await login(call, 'fuzz-b', 'B')];
  });
  after(() => stopMediaSuite(server, chromium));

  it('keeps its frame rate and the server its memory; the dropped datagrams are counted', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Fuzz');
    const context = await chromium.newContext();
    const join = (i: number) =>
      ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[i]!.token,
        context,
        roomId,
        participantId: pids[i]!,
      });
    const pub = await join(0);
    const sub = await join(1);
    try {
      await sub.subscribe(pub.participantId);
      await waitFor(
        () => sub.statsFrom(pub.participantId),
        (s) => (s?.framesDecoded ?? 0) > 30,
        'the call',
      );
      const ufrag = await sub.page.evaluate(() => {
        const subs = (window as unknown as { subs: Record<string, RTCPeerConnection> }).subs;
        return /a=ice-ufrag:(\S+)/.exec(Object.values(subs)[0]!.remoteDescription!.sdp)![1]!;
      });
      const beforeFps = await fps(sub, pub.participantId, MEASURE_MS);
      const beforeDump = await server.sfu.dump();
      const rssBefore = process.memoryUsage().rss;
      const loadBefore = loadavg()[0]!;
      const flooding = flood(server.mediaPort, ufrag);
      const duringFps: number[] = [];
      let done = false;
      flooding.then(
        () => {
          done = true;
        },
        // The failure is reported by the await below.
        () => {
          done = true;
        },
      );
      while (!done) duringFps.push(await fps(sub, pub.participantId, MEASURE_MS));
      const { sent, elapsedMs } = await flooding;
      const loadDuring = loadavg()[0]!;
      const rssAfter = process.memoryUsage().rss;
      const afterDump = await server.sfu.dump();
      const afterFps = await fps(sub, pub.participantId, MEASURE_MS);
      const counted = dropped(afterDump.dropped) - dropped(beforeDump.dropped);
      const during = duringFps.reduce((a, b) => a + b, 0) / duringFps.length;
      const figures =
        `${sent} datagrams in ${elapsedMs} ms, ${counted} counted as dropped; fps before ${beforeFps.toFixed(1)}, ` +
        `during ${during.toFixed(1)} (min ${Math.min(...duringFps).toFixed(1)}), after ${afterFps.toFixed(1)}; ` +
        `RSS ${(rssBefore / 1e6).toFixed(0)} → ${(rssAfter / 1e6).toFixed(0)} MB; load ${loadBefore.toFixed(2)} → ${loadDuring.toFixed(2)}`;
      process.stderr.write(`live fuzz: ${figures}\n`);
      assert.equal(sent, DATAGRAMS);
      assert.ok(during >= beforeFps * FPS_FLOOR, `frame rate during the flood: ${figures}`);
      assert.ok(afterFps >= beforeFps * FPS_FLOOR, `frame rate after the flood: ${figures}`);
      assert.ok(rssAfter - rssBefore < RSS_GROWTH_BYTES, `memory: ${figures}`);
      // The kernel may drop some under load before the worker reads them; most must be counted.
      assert.ok(counted >= DATAGRAMS * 0.5, `drops counted: ${figures}`);
      assert.equal(afterDump.rooms[0]!.publishers, 2, 'nothing was torn down');
      assert.equal(afterDump.transports, beforeDump.transports);
    } finally {
      await pub.close();
      await sub.close();
      await context.close();
    }
  });
});
