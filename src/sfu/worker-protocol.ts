import type { MessagePort } from 'node:worker_threads';
import type { ParticipantId, RoomId } from '../lib/ids.ts';
import type { MediaWorkerReport } from '../lib/media-counters.ts';
import type { SfuApi, SfuDump, SfuEvent } from '../protocol/sfu-api.ts';
import type { RoomCodecPolicy } from './media/room-codecs.ts';

/**
 * Messages between the SFU's control side (main thread) and a media worker. Versioned: a worker
 * of another version is refused at start rather than misread. Version 3: `join` and `subscribe`
 * carry a join token's grants (`canPublishData`, `hidden`), which the worker enforces, and the
 * dump counts room data messages (`data`). Version 4: `tap` (egress taps, media/egress-tap.ts) and
 * the dump's `taps`. Version 5: `subscribe` may carry the subscriber's `offer` (a WHEP viewer,
 * answered in the reply's `answer`) and `followActiveSpeaker`, and the `viewerEnded` event.
 * Version 6: `setMediaState` may `enforce` (an operator's mute), and `inspectRoom` answers what the
 * worker holds of a room (media/room-inspection.ts). Version 7: `load` carries the worker's
 * media report (counters since it started and gauges, lib/media-counters.ts). Version 8: the
 * worker data's `announcedIps6` (an IPv6 socket beside the IPv4 one). Version 9: `subscribe` may
 * be a viewer's ICE restart (`iceRestart`).
 */
export const WORKER_PROTOCOL_VERSION = 9;

/**
 * The SfuApi operations a worker serves (everything but the event stream and dump), and
 * `exportPublisher`: describe a publisher homed here to another worker whose subscriber wants it
 * (a room spanning workers; the answer is a RelayedPublisher, media/relay.ts). `subscribe` then
 * carries `remote: { fromWorker, publisher }` to the subscriber's worker.
 */
export type WorkerOperation = Exclude<keyof SfuApi, 'events' | 'dump'> | 'exportPublisher';

export type ControlToWorker =
  | { type: 'request'; id: number; op: WorkerOperation; args: unknown }
  | { type: 'dump'; id: number }
  /**
   * Attach an egress tap to a publisher homed here: the worker copies its tracks onto `port`
   * (the TapMessage / TapFeedback protocol of egress-backend.ts) and answers the tracks
   * (RelayedTrack[]); on failure it closes the port.
   */
  | { type: 'tap'; id: number; roomId: RoomId; participantId: ParticipantId; port: MessagePort }
  /** The worker's end of a MessageChannel to worker `index` (packets and feedback between them). */
  | { type: 'peer'; index: number; port: MessagePort }
  /** Worker `index` died: drop what is relayed to or from it. */
  | { type: 'peerDown'; index: number }
  | { type: 'stop' };

export type WorkerToControl =
  | { type: 'ready'; version: number; port: number }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: { code: string; message: string } }
  | { type: 'dump'; id: number; dump: SfuDump }
  | { type: 'event'; roomId: RoomId; event: SfuEvent }
  | { type: 'load'; participants: number; packetsPerSecond: number; media: MediaWorkerReport };

/** What a worker is started with (workerData). */
export interface MediaWorkerData {
  index: number;
  /** UDP port this worker binds (one per worker, all peers share it). */
  port: number;
  /** Passive ICE-TCP port beside it (RFC 6544); undefined: no ICE-TCP. */
  tcpPort: number | undefined;
  /** Announce the UDP candidates (false only in tests of peers without UDP). */
  udpCandidates: boolean;
  /** Addresses written into ICE candidates. */
  announcedIps: string[];
  /**
   * IPv6 addresses announced on the worker's IPv6-only UDP socket and, with ICE-TCP, its IPv6-only
   * TCP listener (empty: neither is opened).
   */
  announcedIps6: string[];
  nodeId: string;
  logLevel: string;
  /** A transport whose peer sent no valid ICE check for this long is closed (consent freshness). */
  iceConsentTimeoutMs: number;
  /** How a publisher's video codec is chosen (media/room-codecs.ts). */
  roomCodecPolicy: RoomCodecPolicy;
  /** The nice value the worker thread asks for at start (media/worker-priority.ts); 0: unchanged. */
  nice: number;
}
