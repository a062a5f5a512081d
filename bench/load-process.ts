// A load generator process: runs the publishers and/or subscribers it is given (over IPC from
// bench.ts), drives the publishers' send loop, and answers `stats` requests with its counters.
// Kept out of the server's process so the server's CPU accounting holds the server's work only.
import { generateDtlsCertificate } from '../src/transport/dtls/dtls-certificate.ts';
import { ChurnPeers, noneRetired } from './churn-peers.ts';
import { readLayersFile } from './encoded-media.ts';
import { LoadPublisher, LoadSubscriber, useEncodedLayers } from './load-peer.ts';
import type { LayerWish } from './quality-request.ts';
import { HttpSignal, type Signal, type WaterbusIdentity, WaterbusSignal } from './signal.ts';

export type LoadMode = 'sfu' | 'werift' | 'raw';

export interface LoadParticipant {
  /** Waterbus participant (sfu mode), werift peer id, or raw room number as a string. */
  id: string;
  identity?: WaterbusIdentity;
  publish?: { video: boolean; audio: boolean };
  /** Participant ids (or werift peer ids, or raw rooms) to receive. */
  subscribeTo: string[];
  /** sfu mode: the simulcast layer its subscriptions ask for over `track_quality` (default: none asked). */
  layer?: LayerWish | undefined;
}

export interface LoadConfig {
  mode: LoadMode;
  participants: LoadParticipant[];
  sampleEvery: number;
  /** werift mode: its HTTP signalling. */
  weriftUrl?: string;
  /** raw mode: the forwarder. */
  forwarder?: { ip: string; port: number };
  /** Joins run this many at a time. */
  concurrency: number;
  /** The encoded VP8 layers to replay (encoded-media.ts); synthetic frames without it. */
  framesFile?: string | undefined;
  /** sfu mode: the peers reach the server over UDP (default) or ICE-TCP. */
  transport?: 'udp' | 'tcp' | undefined;
  /** Publishers pace their video as browsers do, at random frame phases (default true; pacer.ts). */
  paced?: boolean | undefined;
}

export type ToLoad =
  | { type: 'start'; config: LoadConfig }
  | { type: 'stats' }
  | { type: 'stop' }
  | ChurnRequest;

/** The soak's operations (bench/churn-peers.ts), each answered by a `done` with its `req`. */
export type ChurnRequest =
  | { type: 'churn-init'; req: number; framesFile: string | undefined; sampleEvery: number }
  | { type: 'join'; req: number; participant: LoadParticipant }
  | { type: 'retarget'; req: number; id: string; from: string; to: string }
  | { type: 'leave'; req: number; id: string };

export interface LoadStats {
  packetsSent: number;
  bytesSent: number;
  keyframeRequests: number;
  packetsReceived: number;
  bytesReceived: number;
  lost: number;
  expected: number;
  sampled: number;
  authFailures: number;
  sendErrors: number;
  /** ICE-TCP links closed by a stream error, the server, or bad framing. */
  streamErrors: number;
  /** Forwarding latency samples (µs) since the previous stats. */
  latenciesUs: number[];
  /** ms from subscribe to first RTP, per subscription that got one. */
  firstRtpMs: number[];
  subscriptions: number;
  subscriptionsWithMedia: number;
  /** Subscriptions whose `track_quality` layer request went out. */
  layerRequests: number;
}

/** Medians of the subscriptions' join phases, ms: subscribe → offer, ICE check, DTLS handshake. */
export interface JoinPhases {
  offer: number | null;
  ice: number | null;
  dtls: number | null;
}

const median = (values: number[]): number | null => {
  const v = values.filter((x) => x >= 0).sort((a, b) => a - b);
  return v.length ? Math.round(v[Math.floor(v.length / 2)]!) : null;
};

export type FromLoad =
  | { type: 'listening' }
  | { type: 'ready'; joinFailures: string[]; phasesMs: JoinPhases }
  /** Joins done so far (at most every PROGRESS_EVERY_MS while joining). */
  | { type: 'progress'; done: number; total: number; failed: number }
  | { type: 'stats'; stats: LoadStats }
  | { type: 'error'; message: string }
  | { type: 'done'; req: number; error?: string };

const send = (msg: FromLoad) => process.send?.(msg);
const publishers: LoadPublisher[] = [];
const subscribers: LoadSubscriber[] = [];
const signals: Signal[] = [];
let loop: NodeJS.Timeout | undefined;
let churn: ChurnPeers | undefined;
const LATENCY_SAMPLES_MAX = 50_000;
const PROGRESS_EVERY_MS = 1000;

/** Runs `run` over `items` with at most `size` in flight; failures are collected, not thrown. */
async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>, failures: string[]) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await run(item);
      } catch (err) {
        failures.push(String((err as Error)?.message ?? err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

async function start(config: LoadConfig): Promise<void> {
  if (config.framesFile) useEncodedLayers(await readLayersFile(config.framesFile));
  const certificate = await generateDtlsCertificate();
  const failures: string[] = [];
  // One signalling connection per participant, shared by its publish and subscriptions (made
  // once even when several of its subscriptions start at the same time).
  const signalOf = new Map<string, Promise<Signal>>();
  const signalFor = (p: LoadParticipant): Promise<Signal> => {
    let s = signalOf.get(p.id);
    if (!s) {
      s =
        config.mode === 'werift'
          ? Promise.resolve(new HttpSignal(config.weriftUrl!, p.id))
          : WaterbusSignal.connect(p.identity!);
      signalOf.set(p.id, s);
      s.then((signal) => signals.push(signal)).catch(() => undefined);
    }
    return s;
  };
  const withPublish = config.participants.filter((p) => p.publish);
  await inBatches(
    withPublish,
    config.concurrency,
    async (p) => {
      const pub = new LoadPublisher({
        certificate,
        video: p.publish!.video,
        audio: p.publish!.audio,
        topLayerOnly: config.mode === 'raw',
        transport: config.transport,
        paced: config.paced,
      });
      publishers.push(pub);
      if (config.mode === 'raw') await pub.startRaw(config.forwarder!, Number(p.id));
      else await pub.start(await signalFor(p));
    },
    failures,
  );
  const started = performance.now();
  startSendLoop(config.paced ?? true);
  // Let the publishers' first frames (keyframes) reach the server before anyone subscribes.
  if (publishers.length)
    await new Promise((r) => setTimeout(r, Math.max(0, 300 - (performance.now() - started))));
  const subscriptions = config.participants.flatMap((p) => p.subscribeTo.map((target) => ({ p, target })));
  let done = 0;
  let reportedMs = performance.now();
  await inBatches(
    subscriptions,
    config.concurrency,
    async ({ p, target }) => {
      const sub = new LoadSubscriber({
        certificate,
        sampleEvery: config.sampleEvery,
        transport: config.transport,
        layer: p.layer,
      });
      subscribers.push(sub);
      try {
        if (config.mode === 'raw') await sub.subscribeRaw(config.forwarder!, Number(target));
        else await sub.subscribe(await signalFor(p), target);
      } finally {
        done++;
        if (performance.now() - reportedMs >= PROGRESS_EVERY_MS) {
          reportedMs = performance.now();
          send({ type: 'progress', done, total: subscriptions.length, failed: failures.length });
        }
      }
    },
    failures,
  );
  send({
    type: 'ready',
    joinFailures: failures,
    phasesMs: {
      offer: median(subscribers.map((x) => x.offerMs)),
      ice: median(subscribers.map((x) => x.link.iceMs)),
      dtls: median(subscribers.map((x) => x.link.dtlsMs)),
    },
  });
}

/**
 * Paced publishers are ticked every millisecond (each frame leaves over several ticks, and the
 * publishers' random phases stay apart); unpaced ones every 5 ms, each frame in one burst.
 */
function startSendLoop(paced: boolean): void {
  loop ??= setInterval(
    () => {
      const now = performance.now();
      for (const p of publishers) p.tick(now);
    },
    paced ? 1 : 5,
  );
}

async function churnOperation(msg: ChurnRequest): Promise<void> {
  if (msg.type === 'churn-init') {
    if (msg.framesFile) useEncodedLayers(await readLayersFile(msg.framesFile));
    const certificate = await generateDtlsCertificate();
    churn = new ChurnPeers({ certificate, sampleEvery: msg.sampleEvery, publishers, subscribers });
    startSendLoop(true);
    return;
  }
  if (!churn) throw new Error('churn-init first');
  if (msg.type === 'join') await churn.join(msg.participant);
  else if (msg.type === 'retarget') await churn.retarget(msg.id, msg.from, msg.to);
  else churn.leave(msg.id);
}

function stats(): LoadStats {
  const s: LoadStats = {
    packetsSent: 0,
    bytesSent: 0,
    keyframeRequests: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    lost: 0,
    expected: 0,
    sampled: 0,
    authFailures: 0,
    sendErrors: 0,
    streamErrors: 0,
    latenciesUs: [],
    firstRtpMs: [],
    subscriptions: subscribers.length,
    subscriptionsWithMedia: 0,
    layerRequests: 0,
  };
  const retired = churn?.retired ?? noneRetired();
  for (const k of Object.keys(retired) as Array<keyof typeof retired>) s[k] += retired[k];
  for (const p of publishers) {
    s.packetsSent += p.packetsSent;
    s.bytesSent += p.bytesSent;
    s.keyframeRequests += p.keyframeRequests;
    s.sendErrors += p.link.sendErrors;
    s.streamErrors += p.link.streamErrors;
  }
  for (const sub of subscribers) {
    const c = sub.counters();
    s.packetsReceived += c.packets;
    s.bytesReceived += c.bytes;
    s.lost += c.lost;
    s.expected += c.expected;
    s.sampled += c.sampled;
    s.authFailures += c.authFailures;
    s.streamErrors += sub.link.streamErrors;
    if (sub.layerRequested) s.layerRequests++;
    if (c.firstRtpMs >= 0) {
      s.firstRtpMs.push(c.firstRtpMs);
      s.subscriptionsWithMedia++;
    }
    for (const l of sub.takeLatencies())
      if (s.latenciesUs.length < LATENCY_SAMPLES_MAX) s.latenciesUs.push(l);
  }
  return s;
}

function stop(): void {
  clearInterval(loop);
  churn?.closeAll();
  for (const p of publishers) p.close();
  for (const s of subscribers) s.close();
  for (const s of signals) s.close();
  setTimeout(() => process.exit(0), 200);
}

process.on('message', (msg: ToLoad) => {
  if (msg.type === 'start')
    start(msg.config).catch((err: unknown) =>
      send({ type: 'error', message: String((err as Error)?.message ?? err) }),
    );
  else if (msg.type === 'stats') send({ type: 'stats', stats: stats() });
  else if (msg.type === 'stop') stop();
  else
    churnOperation(msg).then(
      () => send({ type: 'done', req: msg.req }),
      (err: unknown) => send({ type: 'done', req: msg.req, error: String((err as Error)?.message ?? err) }),
    );
});
process.on('disconnect', () => stop());
send({ type: 'listening' });
