// The dispatcher's unit tests' cluster: in-process fake SFU nodes, a memory directory, and
// dispatchers over them (src/dispatcher/dispatcher*.test.ts).
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/dispatcher/dispatcher.ts';
import { MemoryNodeDirectory } from '../../src/dispatcher/memory-node-directory.ts';
import type { NodeInfo } from '../../src/dispatcher/node-directory.ts';
import { egressDisabled, SfuError } from '../../src/lib/errors.ts';
import { NodeId, ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import type { EgressStats } from '../../src/protocol/egress.ts';
import { defaultMediaState, type SfuApi, type SfuDump, type SfuEvent } from '../../src/protocol/sfu-api.ts';

/** An in-process SfuApi standing for one node: records calls, can die like a killed process. */
export class FakeNode implements SfuApi {
  readonly id: string;
  readonly calls: string[] = [];
  readonly rooms = new Map<string, Set<string>>();
  dead = false;
  /** What this node's dump reports of its egress (none: it runs without egress). */
  egressStats: EgressStats | undefined;
  readonly #streams = new Set<{ push: (e: SfuEvent) => void; fail: (err: Error) => void }>();

  constructor(id: string) {
    this.id = id;
  }

  #check(op: string): void {
    if (this.dead) throw new SfuError('unavailable', `node ${this.id} is unreachable`);
    this.calls.push(op);
  }

  async join(req: Parameters<SfuApi['join']>[0]) {
    this.#check('join');
    const room = this.rooms.get(req.roomId) ?? new Set();
    room.add(req.participantId);
    this.rooms.set(req.roomId, room);
    return { sdp: `answer from ${this.id}`, isRecording: false };
  }
  async subscribe() {
    this.#check('subscribe');
    return { offer: `offer from ${this.id}`, videoCodec: 'video/VP8' };
  }
  async setSubscriberAnswer() {
    this.#check('setSubscriberAnswer');
    return { refusedTracks: [] };
  }
  async renegotiatePublisher() {
    this.#check('renegotiatePublisher');
    return { sdp: 'x' };
  }
  async addPublisherCandidate() {
    this.#check('addPublisherCandidate');
  }
  async addSubscriberCandidate() {
    this.#check('addSubscriberCandidate');
  }
  async setMediaState() {
    this.#check('setMediaState');
  }
  async leave(req: Parameters<SfuApi['leave']>[0]) {
    this.#check('leave');
    this.rooms.get(req.roomId)?.delete(req.participantId);
  }
  async startEgress(): Promise<never> {
    this.#check('startEgress');
    throw egressDisabled();
  }
  async stopEgress(): Promise<never> {
    this.#check('stopEgress');
    throw egressDisabled();
  }
  async listEgress() {
    this.#check('listEgress');
    return [];
  }
  async inspectRoom(roomId: RoomId) {
    this.#check('inspectRoom');
    const participants = [...(this.rooms.get(roomId) ?? [])].map((p) => ({
      participantId: ParticipantId(p),
      tracks: [],
      bitrateInBps: 0,
      bitrateOutBps: 0,
      bytesIn: 0,
      bytesOut: 0,
    }));
    return { roomId, nodeId: this.id, participants };
  }
  async dump(): Promise<SfuDump> {
    this.#check('dump');
    return {
      rooms: [...this.rooms].map(([roomId, ps]) => ({
        roomId: RoomId(roomId),
        participants: [...ps].map(ParticipantId),
        publishers: ps.size,
        subscriptions: 0,
        downTracks: 0,
      })),
      transports: 0,
      dropped: { malformed: 0, unknownAddress: 0, unknownUsername: 0 },
      ...(this.egressStats ? { egressStats: this.egressStats } : {}),
    };
  }
  async *events(_roomId: RoomId, signal: AbortSignal): AsyncIterable<SfuEvent> {
    this.#check('events');
    const queue: SfuEvent[] = [];
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const stream = {
      push: (e: SfuEvent) => {
        queue.push(e);
        wake?.();
      },
      fail: (err: Error) => {
        failure = err;
        wake?.();
      },
    };
    this.#streams.add(stream);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        if (failure) throw failure;
        const e = queue.shift();
        if (e) {
          yield e;
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#streams.delete(stream);
    }
  }
  emit(event: SfuEvent): void {
    for (const s of this.#streams) s.push(event);
  }
  /** kill -9: streams break, calls fail. */
  kill(): void {
    this.dead = true;
    for (const s of this.#streams) s.fail(new SfuError('unavailable', 'stream broken'));
  }
  get streamCount(): number {
    return this.#streams.size;
  }
}

export function nodeInfo(id: string, participants = 0, draining = false): NodeInfo {
  return {
    nodeId: NodeId(id),
    address: `addr-${id}`,
    groupId: 'g1',
    load: { cpu: 0, packetsPerSecond: 0, participants, rooms: 0, freePorts: 1, draining },
    updatedAtMs: Date.now(),
  };
}

export const joinReq = (room: number, participant: number) => ({
  roomId: RoomId(room),
  participantId: ParticipantId(participant),
  sdp: 'offer',
  totalTracks: 2,
  mediaState: defaultMediaState(),
  isMigrate: false,
});

/** What the tests started (dispatchers): a test file runs runCleanups after each test. */
export const cleanups: Array<() => Promise<void> | void> = [];
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export async function cluster(ids: string[], load: Record<string, number> = {}) {
  const directory = new MemoryNodeDirectory();
  const nodes = new Map(ids.map((id) => [id, new FakeNode(id)]));
  for (const id of ids) await directory.heartbeat(nodeInfo(id, load[id] ?? 0), { ttlMs: 60_000, rooms: [] });
  const connected: string[] = [];
  /** `view` replaces some nodes by this instance's own view of them (to lose one here only). */
  const make = (view: Map<string, FakeNode> = new Map()) =>
    new Dispatcher({
      directory,
      groupId: 'g1',
      logger: silentLogger(),
      monitorIntervalMs: 50,
      probeTimeoutMs: 200,
      unregisteredGraceMs: 300,
      connect: (info) => {
        connected.push(info.nodeId);
        const node = view.get(info.nodeId) ?? nodes.get(info.nodeId);
        if (!node) throw new Error(`no node ${info.nodeId}`);
        return node;
      },
    });
  const dispatcher = make();
  cleanups.push(() => dispatcher.close());
  return { directory, nodes, dispatcher, connected, make };
}

export async function next(it: AsyncIterator<SfuEvent>, timeoutMs = 3000): Promise<SfuEvent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no event in time')), timeoutMs);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    assert.equal(r.done, false);
    return r.value as SfuEvent;
  } finally {
    clearTimeout(timer);
  }
}
