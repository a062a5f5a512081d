// The signalling scenario: the server (started and pinned as the other steps start it) under
// socket.io joins and chat, and its hot REST routes (token, join) beside a bare fastify route, each
// in its own measured window. Load comes from processes on the load cores (bench/signalling-load.ts,
// bench/http-load.ts); the server's CPU is read from /proc over each window.
import type { HttpTarget } from './http-client.ts';
import type { HttpLoadConfig } from './http-load.ts';
import { LoadChild, type LoadCounters } from './load-child.ts';
import { cpuSeconds, startHelper, startServer, stopChild } from './processes.ts';
import { topCosts } from './profile.ts';
import { createRoom, joinRoomAs, loginAs } from './provision.ts';
import { countCores, phaseFigures, type SignallingPhase, split } from './signalling-figures.ts';
import type { SignallingLoadConfig } from './signalling-load.ts';

export interface SignallingOptions {
  serverCores: string;
  loadCores: string;
  warmupSeconds: number;
  seconds: number;
  /** joins: rooms × clients per room, every client entering and leaving in a loop. */
  joinRooms: number;
  joinPerRoom: number;
  /** chat: rooms × members (all in the room), senders per room posting in closed loops. */
  chatRooms: number;
  chatPerRoom: number;
  chatSenders: number;
  /** REST phases: keep-alive connections (requests in flight) of the HTTP load. */
  httpConnections: number;
  /** Run the server under node --cpu-prof into this directory (the profiled pass, not measured). */
  profileDir?: string | undefined;
  /** Whether the bare fastify window runs (default true; the profiled pass leaves it out). */
  bareRoute?: boolean | undefined;
  progress: (fraction: number, what: string) => void;
}

export interface SignallingResult {
  phases: SignallingPhase[];
  costs: Awaited<ReturnType<typeof topCosts>> | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (all: LoadCounters[], key: string) => all.reduce((s, c) => s + (c.counters[key] ?? 0), 0);
const samples = (all: LoadCounters[], key: string) => all.flatMap((c) => c.latenciesMs[key] ?? []);

interface Window {
  name: string;
  /** The process whose CPU is measured. */
  pid: number;
  loads: LoadChild[];
  /** What was done between the two reads. */
  count(
    first: LoadCounters[],
    last: LoadCounters[],
  ): {
    count: number;
    fanoutCount?: number;
    latencyKey: string;
    partKeys?: string[];
    errors: number;
  };
}

export async function runSignalling(o: SignallingOptions): Promise<SignallingResult> {
  const loadProcesses = Math.max(1, countCores(o.loadCores));
  const phases: SignallingPhase[] = [];
  const bareRoute = o.bareRoute ?? true;
  const windows = bareRoute ? 5 : 4;
  let phase = 0;
  const step = (f: number, what: string) => o.progress((phase + f) / windows, `signalling ${what}`);
  const tag = `sig${Date.now().toString(36)}`;

  /** Starts the loads, warms up, measures one window, stops the loads. */
  async function measure(w: Window): Promise<void> {
    try {
      for (const l of w.loads) l.go();
      const warmupMs = o.warmupSeconds * 1000;
      for (let t = 0; t < warmupMs; t += 250) {
        step(0.1 + (0.2 * t) / warmupMs, `${w.name}: warming up`);
        await sleep(250);
      }
      const first = await Promise.all(w.loads.map((l) => l.stats()));
      const cpu0 = cpuSeconds(w.pid) ?? 0;
      const loadCpu0 = w.loads.map((l) => cpuSeconds(l.child.pid!) ?? 0);
      const t0 = performance.now();
      const windowMs = o.seconds * 1000;
      while (performance.now() - t0 < windowMs) {
        step(0.3 + (0.65 * (performance.now() - t0)) / windowMs, `${w.name}: measuring`);
        await sleep(Math.min(250, Math.max(1, windowMs - (performance.now() - t0))));
      }
      const last = await Promise.all(w.loads.map((l) => l.stats()));
      const cpu1 = cpuSeconds(w.pid) ?? cpu0;
      const seconds = (performance.now() - t0) / 1000;
      const loadCpu = w.loads.reduce((s, l, i) => s + (cpuSeconds(l.child.pid!) ?? 0) - loadCpu0[i]!, 0);
      const done = w.count(first, last);
      const result = phaseFigures({
        name: w.name,
        seconds,
        cpuSeconds: cpu1 - cpu0,
        count: done.count,
        fanoutCount: done.fanoutCount,
        latencyMs: samples(last, done.latencyKey),
        parts: Object.fromEntries((done.partKeys ?? []).map((k) => [k, samples(last, k)])),
        errors: done.errors,
        firstError: last.find((c) => c.firstError)?.firstError,
        loadCpuSeconds: loadCpu,
        loadCores: loadProcesses,
      });
      phases.push(result);
      if (result.errors > 0)
        process.stderr.write(
          `\nsignalling ${w.name}: ${result.errors} errors, first: ${result.first_error}\n`,
        );
    } finally {
      await Promise.all(w.loads.map((l) => l.stop()));
      phase++;
    }
  }

  /** Socket load processes set up with their share of the rooms. */
  async function socketLoads(
    server: { baseUrl: string; apiKey: string },
    mode: 'join' | 'chat',
    rooms: number,
    perRoom: number,
  ): Promise<LoadChild[]> {
    const shares = split(rooms, loadProcesses).filter((r) => r > 0);
    const loads = shares.map(() => new LoadChild('signalling-load.ts', o.loadCores));
    step(0.02, `${mode}: setting up ${rooms} rooms × ${perRoom}`);
    try {
      await Promise.all(
        loads.map((l, i) =>
          l.setup(
            {
              ...server,
              mode,
              rooms: shares[i]!,
              perRoom,
              sendersPerRoom: Math.min(perRoom, o.chatSenders),
              tag: `${tag}-${mode}-${i}`,
            } satisfies SignallingLoadConfig,
            120_000 + rooms * perRoom * 500,
          ),
        ),
      );
    } catch (err) {
      await Promise.all(loads.map((l) => l.stop()));
      throw err;
    }
    return loads;
  }

  /** HTTP load processes sharing `targets` and the connections. */
  async function httpLoads(baseUrl: string, targets: HttpTarget[]): Promise<LoadChild[]> {
    const shares = split(o.httpConnections, loadProcesses).filter((c) => c > 0);
    const loads = shares.map(() => new LoadChild('http-load.ts', o.loadCores));
    let offset = 0;
    try {
      await Promise.all(
        loads.map((l, i) => {
          const mine = targets.slice(offset, offset + shares[i]!);
          offset += shares[i]!;
          return l.setup(
            { baseUrl, connections: shares[i]!, targets: mine } satisfies HttpLoadConfig,
            60_000,
          );
        }),
      );
    } catch (err) {
      await Promise.all(loads.map((l) => l.stop()));
      throw err;
    }
    return loads;
  }

  const requests = (name: string, pid: number, loads: LoadChild[]): Window => ({
    name,
    pid,
    loads,
    count: (first, last) => ({
      count: sum(last, 'done') - sum(first, 'done'),
      latencyKey: 'request',
      errors: sum(last, 'errors') - sum(first, 'errors'),
    }),
  });

  step(0, 'starting the server');
  const server = await startServer({ cores: o.serverCores, profileDir: o.profileDir });
  let serverStopped = false;
  try {
    const s = { baseUrl: server.baseUrl, apiKey: server.apiKey };
    await measure({
      name: 'joins',
      pid: server.pid,
      loads: await socketLoads(s, 'join', o.joinRooms, o.joinPerRoom),
      count: (first, last) => ({
        count: sum(last, 'cycles') - sum(first, 'cycles'),
        fanoutCount: sum(last, 'broadcasts') - sum(first, 'broadcasts'),
        latencyKey: 'cycle',
        partKeys: ['rest_join', 'publish', 'leave'],
        errors: sum(last, 'errors') - sum(first, 'errors'),
      }),
    });
    await measure({
      name: 'chat',
      pid: server.pid,
      loads: await socketLoads(s, 'chat', o.chatRooms, o.chatPerRoom),
      count: (first, last) => ({
        count: sum(last, 'messages') - sum(first, 'messages'),
        fanoutCount: sum(last, 'deliveries') - sum(first, 'deliveries'),
        latencyKey: 'post',
        partKeys: ['delivery'],
        errors: sum(last, 'errors') - sum(first, 'errors'),
      }),
    });
    // The token route: POST /auth of returning users (every app start logs in; the refresh
    // GET /auth comes once per access-token lifetime, a day by default).
    step(0.02, 'rest_token: logging in users');
    const users = await loginUsers(s, o.httpConnections, `${tag}-rest`);
    const headers = { 'x-api-key': s.apiKey };
    await measure(
      requests(
        'rest_token',
        server.pid,
        await httpLoads(
          s.baseUrl,
          users.map((u) => ({
            method: 'POST',
            path: '/busapi/v3/auth',
            headers,
            body: JSON.stringify({ fullName: `bench ${u.externalId}`, externalId: u.externalId }),
            expect: 201,
          })),
        ),
      ),
    );
    // The join route: members and code-openers of rooms of 4 joining again and again (each join
    // makes a new participant and deletes the caller's older one).
    step(0.02, 'rest_join: creating rooms');
    const joins = await joinTargets(s, users);
    await measure(requests('rest_join', server.pid, await httpLoads(s.baseUrl, joins)));
    step(0, 'stopping the server');
    await server.stop();
    serverStopped = true;
  } finally {
    if (!serverStopped) await server.stop();
  }
  const costs = o.profileDir ? await topCosts(o.profileDir).catch(() => undefined) : undefined;
  if (bareRoute) {
    step(0.02, 'bare_fastify: starting');
    const bare = await startHelper('bare-fastify.ts', { cores: o.serverCores });
    try {
      const targets: HttpTarget[] = Array.from({ length: o.httpConnections }, () => ({
        method: 'GET',
        path: '/',
        headers: {},
        expect: 200,
      }));
      await measure(requests('bare_fastify', bare.pid, await httpLoads(bare.firstLine, targets)));
    } finally {
      await stopChild(bare.child);
    }
  }
  o.progress(1, 'signalling: done');
  return { phases, costs };
}

async function loginUsers(
  s: { baseUrl: string; apiKey: string },
  count: number,
  prefix: string,
): Promise<Array<{ id: number; token: string; externalId: string }>> {
  const users: Array<{ id: number; token: string; externalId: string }> = [];
  for (let i = 0; i < count; i += 16) {
    const batch = Array.from({ length: Math.min(16, count - i) }, (_, j) => `${prefix}-${i + j}`);
    users.push(
      ...(await Promise.all(
        batch.map(async (externalId) => ({
          ...(await loginAs(s.baseUrl, s.apiKey, externalId)),
          externalId,
        })),
      )),
    );
  }
  return users;
}

/** One POST /rooms/:id/join per user: rooms of 4, the first user owns it, the others opened it by code. */
async function joinTargets(
  s: { baseUrl: string; apiKey: string },
  users: Array<{ id: number; token: string }>,
): Promise<HttpTarget[]> {
  const targets: HttpTarget[] = [];
  for (let i = 0; i < users.length; i += 4) {
    const group = users.slice(i, i + 4);
    const room = await createRoom(s.baseUrl, s.apiKey, group[0]!.token);
    // Opens the room by its code and joins once: the grant that lets a non-member join again.
    await Promise.all(group.slice(1).map((u) => joinRoomAs(s.baseUrl, s.apiKey, room, u)));
    for (const u of group)
      targets.push({
        method: 'POST',
        path: `/busapi/v3/rooms/${room.roomId}/join`,
        headers: { 'x-api-key': s.apiKey, authorization: `Bearer ${u.token}` },
        body: '{}',
        expect: 201,
      });
  }
  return targets;
}
