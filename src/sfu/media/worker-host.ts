import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { isSfuError, SfuError } from '../../lib/errors.ts';
import type { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { MediaWorkerReport } from '../../lib/media-counters.ts';
import type { SfuDump, SfuEvent } from '../../protocol/sfu-api.ts';
import {
  type ControlToWorker,
  type MediaWorkerData,
  WORKER_PROTOCOL_VERSION,
  type WorkerOperation,
  type WorkerToControl,
} from '../worker-protocol.ts';
import { WorkerMediaReporter } from './worker-media-report.ts';

/** What runs inside a media worker: the SfuApi operations for the rooms pinned to it. */
export interface WorkerEngine {
  run(op: WorkerOperation, args: unknown): Promise<unknown>;
  dump(): SfuDump;
  close(): Promise<void>;
  /** A channel to another worker of the pool (rooms spanning workers); engines without relays ignore it. */
  addPeer?(index: number, port: MessagePort): void;
  peerDown?(index: number): void;
  /** An egress tap on a publisher homed here (egress-tap.ts); answers the tracks it copies. */
  tap?(req: { roomId: RoomId; participantId: ParticipantId }, port: MessagePort): unknown;
  /** Datagrams received and sent since start (the worker reports the rate as its `load`). */
  datagrams?(): number;
  /** Drops counted outside the media counters and the objects live here (sent with each `load`). */
  mediaReport?(): Omit<MediaWorkerReport, 'counters' | 'histograms'>;
}

/** How often a worker reports its load (packets per second) to the control side. */
const LOAD_INTERVAL_MS = 1000;

export type WorkerEngineFactory = (
  data: MediaWorkerData,
  emit: (roomId: RoomId, event: SfuEvent) => void,
) => Promise<WorkerEngine>;

/**
 * The worker side of worker-protocol.ts: builds the engine, says `ready`, then serves requests.
 * An operation's SfuError travels back as `{ code, message }`; anything else becomes 'internal'.
 */
export async function serveWorker(createEngine: WorkerEngineFactory): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serveWorker() must run in a worker thread');
  const data = workerData as MediaWorkerData;
  const post = (msg: WorkerToControl) => port.postMessage(msg);
  const engine = await createEngine(data, (roomId, event) => post({ type: 'event', roomId, event }));
  port.on('message', (msg: ControlToWorker) => {
    switch (msg.type) {
      case 'request':
        engine.run(msg.op, msg.args).then(
          (result) => post({ type: 'response', id: msg.id, ok: true, result: result ?? null }),
          (err: unknown) => post({ type: 'response', id: msg.id, ok: false, error: toWireError(err) }),
        );
        return;
      case 'dump':
        post({ type: 'dump', id: msg.id, dump: engine.dump() });
        return;
      case 'peer':
        if (engine.addPeer) engine.addPeer(msg.index, msg.port);
        else msg.port.close();
        return;
      case 'tap':
        serveTap(engine, msg, post);
        return;
      case 'peerDown':
        engine.peerDown?.(msg.index);
        return;
      case 'stop':
        engine.close().finally(() => port.close());
        return;
    }
  });
  post({ type: 'ready', version: WORKER_PROTOCOL_VERSION, port: data.port });
  reportLoad(engine, post);
}

/** Every LOAD_INTERVAL_MS: the datagram rate and the media report (counters and gauges). */
function reportLoad(engine: WorkerEngine, post: (msg: WorkerToControl) => void): void {
  const count = () => engine.datagrams?.() ?? 0;
  const reporter = new WorkerMediaReporter();
  let last = count();
  let lastMs = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const total = count();
    const packetsPerSecond = ((total - last) * 1000) / (now - lastMs);
    post({ type: 'load', participants: 0, packetsPerSecond, media: reporter.report(engine) });
    last = total;
    lastMs = now;
  }, LOAD_INTERVAL_MS);
  // The report alone does not keep the worker alive.
  timer.unref();
}

function serveTap(
  engine: WorkerEngine,
  msg: Extract<ControlToWorker, { type: 'tap' }>,
  post: (msg: WorkerToControl) => void,
): void {
  try {
    if (!engine.tap) throw new SfuError('unsupported', 'this media worker has no egress taps');
    const result = engine.tap({ roomId: msg.roomId, participantId: msg.participantId }, msg.port);
    post({ type: 'response', id: msg.id, ok: true, result: result ?? null });
  } catch (err) {
    // Nobody will read this port: the control side sees it close.
    msg.port.close();
    post({ type: 'response', id: msg.id, ok: false, error: toWireError(err) });
  }
}

function toWireError(err: unknown): { code: string; message: string } {
  if (isSfuError(err)) return { code: err.code, message: err.message };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}
