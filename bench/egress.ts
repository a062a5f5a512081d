// `npm run bench -- --scenario egress`: CPU per copied HLS stream, per transcoded one, and per
// forwarded subscriber, on one server with egress on (EGRESS_ENABLED). packages/egress is loaded
// by the server child only; this module checks it is installed first and says what to run if not.
//
// Publishers: the bench's own load peer replays the pre-encoded VP8 720p simulcast (top layer
// ~1.5 Mbit/s, what the egress and the subscribers take), and Chromium's demo page publishes H264
// (the load peer has no H264; ?codec=H264, one layer, fake camera + microphone). Windows, each
// after a warm-up: the publishers alone (baseline); + M protocol-level subscribers of the VP8
// publisher; those gone, + N HLS egresses of the H264 publisher (copied); those stopped, + N of the
// VP8 publisher (transcoded by ffmpeg). The server's CPU is utime + stime from /proc (every
// thread), its ffmpeg children's the same; each window minus the baseline, per stream.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { EgressNotInstalledError, loadEgress } from '../src/roles/egress-loader.ts';
import { launchDemoBrowser } from '../test/sdk/demo-page.ts';
import { childTicks, type EgressCosts, egressCosts, ticksBetween, type Window } from './egress-costs.ts';
import { fixtureExists, MEDIA_FIXTURE } from './encoded-media.ts';
import { LoadHandle } from './load-handle.ts';
import { corePlan, cpuSeconds, type ServerUnderTest, startServer } from './processes.ts';
import { provisionRoom } from './provision.ts';

export const EGRESS_HELP = `bbmeet bench --scenario egress: CPU per HLS egress stream.

Options:
  --streams <n>       HLS egresses of each publisher (default 2)
  --subs <n>          forwarded subscribers of the VP8 publisher (default 8)
  --duration <s>      measured seconds per window (default 20)
  --warmup <s>        seconds before each window (default 5)
  --res <height>      capture height of the Chromium H264 publisher (default 720)`;

interface EgressOptions {
  streams: number;
  subs: number;
  duration: number;
  warmup: number;
  res: number;
}

function parseEgressOptions(argv: string[]): EgressOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      scenario: { type: 'string' },
      streams: { type: 'string', default: '2' },
      subs: { type: 'string', default: '8' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      res: { type: 'string', default: '720' },
    },
  });
  if (values.help) return 'help';
  const n = (name: keyof typeof values, min: number) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min) throw new TypeError(`--${name} wants a number ≥ ${min}`);
    return v;
  };
  return {
    streams: n('streams', 1),
    subs: n('subs', 1),
    duration: n('duration', 1),
    warmup: n('warmup', 0),
    res: n('res', 90),
  };
}

const TICKS_PER_SECOND = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function measure(pid: number, seconds: number): Promise<Window> {
  const s0 = cpuSeconds(pid) ?? 0;
  const f0 = childTicks(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const s1 = cpuSeconds(pid) ?? 0;
  const f1 = childTicks(pid);
  const wall = (performance.now() - t0) / 1000;
  return { serverCores: (s1 - s0) / wall, ffmpegCores: ticksBetween(f0, f1) / TICKS_PER_SECOND / wall };
}

interface Egress {
  egressId: string;
  urls: string[];
}

/** The admin door of the egress API (the server secret), as an operator's backend calls it. */
function egressApi(server: ServerUnderTest, secret: string) {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.baseUrl}/busapi/v3/admin/rooms/${path}`, {
      method,
      headers: {
        'x-api-key': server.apiKey,
        authorization: `Bearer ${secret}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    start: (roomId: string, participantId: string) =>
      call<Egress>('POST', `${roomId}/egress`, { kind: 'hls', participantId: Number(participantId) }),
    stop: (roomId: string, egressId: string) => call<unknown>('DELETE', `${roomId}/egress/${egressId}`),
  };
}

/** Waits until the egress's master playlist is served (its first segments are written). */
async function playlistReady(url: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await fetch(url).catch(() => undefined))?.ok) return;
    await sleep(250);
  }
  throw new Error(`no playlist at ${url} within ${timeoutMs} ms`);
}

/** Starts `count` HLS egresses of a publisher and waits for their playlists. */
async function startEgresses(
  api: ReturnType<typeof egressApi>,
  room: { roomId: string; participantId: string },
  count: number,
): Promise<Egress[]> {
  const started: Egress[] = [];
  for (let i = 0; i < count; i++) started.push(await api.start(room.roomId, room.participantId));
  await Promise.all(started.map((e) => playlistReady(e.urls[0]!)));
  return started;
}

/** Egress counters from /metrics (bytes written since start), to report each stream's bitrate. */
async function egressBytes(server: ServerUnderTest): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return Number(/^bbmeet_egress_bytes_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** Chromium's demo page publishing H264 (one layer) in a room of its own; its room and participant. */
async function h264Publisher(
  server: ServerUnderTest,
  res: number,
): Promise<{ roomId: string; participantId: string; close: () => Promise<void> }> {
  const browser = await launchDemoBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    const query = new URLSearchParams({ room: 'egress-bench', name: 'H264', autojoin: '1' });
    query.set('res', String(res));
    query.set('simulcast', '0');
    query.set('codec', 'H264');
    await page.goto(`${server.baseUrl}/?${query}`);
    await page.waitForSelector('body[data-state="joined"]', { timeout: 30_000 });
    const ids = await page.evaluate(() => {
      const room = (
        window as unknown as { bbmeet: { room: { roomId: number; localParticipant: { id: string } } } }
      ).bbmeet.room;
      return { roomId: String(room.roomId), participantId: String(room.localParticipant.id) };
    });
    return { ...ids, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** The bench's load peer replaying VP8 720p simulcast, and the identities of `subs` subscribers. */
async function vp8Publisher(server: ServerUnderTest, loadCores: string, subs: number) {
  const room = await provisionRoom(server.baseUrl, server.apiKey, 1 + subs);
  const [pub, ...rest] = room.participants;
  const load = LoadHandle.spawn(loadCores);
  const publisher = { id: pub!.participantId, identity: pub!, publish: { video: true, audio: false } };
  await load.begin(
    {
      mode: 'sfu',
      participants: [{ ...publisher, subscribeTo: [] }],
      sampleEvery: 8,
      concurrency: 8,
      framesFile: MEDIA_FIXTURE,
    },
    60_000,
  );
  const subscribers = rest.map((s) => ({
    id: s.participantId,
    identity: s,
    subscribeTo: [pub!.participantId],
  }));
  return { roomId: room.roomId, participantId: pub!.participantId, load, subscribers };
}

async function window(what: string, pid: number, o: EgressOptions): Promise<Window> {
  log(`${what}: warm-up ${o.warmup} s`);
  await sleep(o.warmup * 1000);
  return measured(what, pid, o.duration);
}

async function measured(what: string, pid: number, seconds: number): Promise<Window> {
  log(`${what}: measuring ${seconds} s`);
  const w = await measure(pid, seconds);
  log(`${what}: server ${w.serverCores.toFixed(3)} cores, ffmpeg ${w.ffmpegCores.toFixed(3)} cores`);
  return w;
}

async function installProblem(): Promise<string | undefined> {
  try {
    // The same check and dynamic import the server makes with EGRESS_ENABLED (the core never needs it).
    await loadEgress({ searchPath: process.env.PATH ?? '' });
  } catch (err) {
    if (err instanceof EgressNotInstalledError) return err.message;
    throw err;
  }
  if (!fixtureExists()) return `the VP8 fixture is missing: run npm run bench -- --encode-media first`;
  return undefined;
}

export interface EgressBenchResult extends EgressCosts {
  scenario: 'egress';
  streams: number;
  subscribers: number;
  seconds: number;
  base_server_cores: number;
  /** What each forwarded subscriber received, kbit/s. */
  subscriber_kbps: number;
  /** HLS bytes written per second per stream (the egress metrics), copied and transcoded. */
  copy_hls_kbps: number;
  transcode_hls_kbps: number;
  machine_load_1m: number;
  command: string;
}

/** A window with the HLS bytes the egresses wrote during it, per stream, in kbit/s. */
async function egressWindow(what: string, server: ServerUnderTest, o: EgressOptions) {
  log(`${what}: warm-up ${o.warmup} s`);
  await sleep(o.warmup * 1000);
  const b0 = await egressBytes(server);
  const t0 = performance.now();
  const w = await measured(what, server.pid, o.duration);
  const kbps =
    (((await egressBytes(server)) - b0) * 8) / ((performance.now() - t0) / 1000) / 1000 / o.streams;
  return { w, kbps: Math.round(kbps) };
}

/** The subscribers' window, with what each received (kbit/s: the layer the allocator gave them). */
async function subscriberWindow(load: LoadHandle, pid: number, o: EgressOptions) {
  const what = `${o.subs} forwarded subscribers`;
  log(`${what}: warm-up ${o.warmup} s`);
  await sleep(o.warmup * 1000);
  const first = await load.stats();
  const t0 = performance.now();
  const w = await measured(what, pid, o.duration);
  const bits = ((await load.stats()).bytesReceived - first.bytesReceived) * 8;
  return { w, kbps: Math.round(bits / ((performance.now() - t0) / 1000) / 1000 / o.subs) };
}

async function measureAll(server: ServerUnderTest, o: EgressOptions, loadCores: string, secret: string) {
  const api = egressApi(server, secret);
  const h264 = await h264Publisher(server, o.res);
  const vp8 = await vp8Publisher(server, loadCores, o.subs).catch(async (err: unknown) => {
    await h264.close();
    throw err;
  });
  try {
    const base = await window('publishers alone', server.pid, o);
    const subsLoad = LoadHandle.spawn(loadCores);
    await subsLoad.begin(
      { mode: 'sfu', participants: vp8.subscribers, sampleEvery: 8, concurrency: 8 },
      60_000,
    );
    const subscribers = await subscriberWindow(subsLoad, server.pid, o);
    await subsLoad.stop();
    const copies = await startEgresses(api, h264, o.streams);
    const copy = await egressWindow(`${o.streams} copied HLS (H264)`, server, o);
    for (const e of copies) await api.stop(h264.roomId, e.egressId);
    const transcodes = await startEgresses(api, vp8, o.streams);
    const transcode = await egressWindow(`${o.streams} transcoded HLS (VP8)`, server, o);
    for (const e of transcodes) await api.stop(vp8.roomId, e.egressId);
    return { base, subscribers: subscribers.w, subscriberKbps: subscribers.kbps, copy, transcode };
  } finally {
    await vp8.load.stop();
    await h264.close();
  }
}

export async function runEgressBench(argv: string[]): Promise<number> {
  let o: EgressOptions | 'help';
  try {
    o = parseEgressOptions(argv);
  } catch (err) {
    process.stderr.write(`bbmeet bench: ${(err as Error).message}\n${EGRESS_HELP}\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(`${EGRESS_HELP}\n`);
    return 0;
  }
  const problem = await installProblem();
  if (problem) {
    process.stderr.write(`bbmeet bench --scenario egress needs egress installed.\n${problem}\n`);
    return 1;
  }
  const cores = corePlan();
  const secret = randomBytes(24).toString('hex');
  const env = { EGRESS_ENABLED: 'true', AUTH_IDENTITY_SECRET: secret, GUEST_LOGIN_ENABLED: 'true' };
  const server = await startServer({ cores: cores.serverCores, env });
  let m: Awaited<ReturnType<typeof measureAll>>;
  try {
    m = await measureAll(server, o, cores.loadCores, secret);
  } finally {
    await server.stop();
  }
  const costs = egressCosts(
    { base: m.base, subscribers: m.subscribers, copy: m.copy.w, transcode: m.transcode.w },
    { subscribers: o.subs, copies: o.streams, transcodes: o.streams },
  );
  const result: EgressBenchResult = {
    scenario: 'egress',
    streams: o.streams,
    subscribers: o.subs,
    seconds: o.duration,
    base_server_cores: Math.round(m.base.serverCores * 1000) / 1000,
    ...costs,
    subscriber_kbps: m.subscriberKbps,
    copy_hls_kbps: m.copy.kbps,
    transcode_hls_kbps: m.transcode.kbps,
    machine_load_1m: Math.round((await import('node:os')).loadavg()[0]! * 100) / 100,
    command: `npm run bench -- --scenario egress --streams ${o.streams} --subs ${o.subs} --duration ${o.duration}`,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}
