import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { egressDisabled, SfuError } from '../lib/errors.ts';
import { NodeId, ParticipantId, RoomId } from '../lib/ids.ts';
import { silentLogger } from '../lib/logger.ts';
import type { EgressStats } from '../protocol/egress.ts';
import { defaultMediaState, type SfuApi, type SfuDump, type SfuEvent } from '../protocol/sfu-api.ts';
import { Dispatcher } from './dispatcher.ts';
import { MemoryNodeDirectory } from './memory-node-directory.ts';
import type { NodeInfo } from './node-directory.ts';

/** An in-process SfuApi standing for one node: records calls, can die like a killed process. */
class FakeNode implements SfuApi {
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

function nodeInfo(id: string, participants = 0, draining = false): NodeInfo {
  return {
    nodeId: NodeId(id),
    address: `addr-${id}`,
    groupId: 'g1',
    load: { cpu: 0, packetsPerSecond: 0, participants, rooms: 0, freePorts: 1, draining },
    updatedAtMs: Date.now(),
  };
}

const joinReq = (room: number, participant: number) => ({
  roomId: RoomId(room),
  participantId: ParticipantId(participant),
  sdp: 'offer',
  totalTracks: 2,
  mediaState: defaultMediaState(),
  isMigrate: false,
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(ids: string[], load: Record<string, number> = {}) {
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

async function next(it: AsyncIterator<SfuEvent>, timeoutMs = 3000): Promise<SfuEvent> {
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

test('dispatcher.join places a new room on the least-loaded node and routes later calls there', async () => {
  const { dispatcher, nodes, connected } = await cluster(['a', 'b'], { a: 5, b: 1 });
  const res = await dispatcher.join(joinReq(1, 10));
  assert.equal(res.sdp, 'answer from b');
  await dispatcher.subscribe({
    roomId: RoomId(1),
    participantId: ParticipantId(11),
    targetId: ParticipantId(10),
  });
  await dispatcher.setMediaState({ roomId: RoomId(1), participantId: ParticipantId(10), state: {} });
  // The room's event stream is attached (and confirmed by a round trip) before the join goes out.
  assert.deepEqual(nodes.get('b')?.calls, ['events', 'dump', 'join', 'subscribe', 'setMediaState']);
  assert.deepEqual(nodes.get('a')?.calls, []);
  assert.deepEqual(connected, ['b'], 'one client per node, cached');
});

test('two dispatchers placing the same new room agree on its node', async () => {
  const { dispatcher, make } = await cluster(['a', 'b']);
  const other = make();
  cleanups.push(() => other.close());
  const [r1, r2] = await Promise.all([dispatcher.join(joinReq(3, 1)), other.join(joinReq(3, 2))]);
  assert.equal(r1.sdp, r2.sdp);
});

test('calls for a room no node hosts answer as a node does for an empty room', async () => {
  const { dispatcher, nodes } = await cluster(['a']);
  const ref = { roomId: RoomId(9), participantId: ParticipantId(1) };
  const code = (c: string) => (err: unknown) => err instanceof SfuError && err.code === c;
  await assert.rejects(dispatcher.subscribe({ ...ref, targetId: ParticipantId(2) }), code('not_found'));
  await assert.rejects(
    dispatcher.setSubscriberAnswer({ ...ref, targetId: ParticipantId(2), sdp: 'v=0' }),
    code('not_found'),
  );
  await assert.rejects(dispatcher.renegotiatePublisher({ ...ref, sdp: 'v=0' }), code('invalid_state'));
  const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  await dispatcher.addPublisherCandidate({ ...ref, candidate });
  await dispatcher.setMediaState({ ...ref, state: { audioEnabled: false } });
  await dispatcher.leave(ref);
  assert.deepEqual(nodes.get('a')?.calls, [], 'no node was bothered');
});

test('join fails with unavailable when every node is draining', async () => {
  const { dispatcher, directory } = await cluster(['a']);
  await directory.heartbeat(nodeInfo('a', 0, true), { ttlMs: 60_000, rooms: [] });
  await assert.rejects(
    dispatcher.join(joinReq(1, 1)),
    (err: unknown) => err instanceof SfuError && err.code === 'unavailable',
  );
});

test('a draining node keeps serving joins to the rooms it already hosts', async () => {
  const { dispatcher, directory } = await cluster(['a', 'b'], { b: 3 });
  assert.equal((await dispatcher.join(joinReq(1, 1))).sdp, 'answer from a');
  await directory.heartbeat(nodeInfo('a', 0, true), { ttlMs: 60_000, rooms: [RoomId(1)] });
  assert.equal((await dispatcher.join(joinReq(1, 2))).sdp, 'answer from a');
  assert.equal((await dispatcher.join(joinReq(2, 3))).sdp, 'answer from b');
});

test("events(roomId) forwards the hosting node's events", async () => {
  const { dispatcher, nodes } = await cluster(['a']);
  await dispatcher.join(joinReq(1, 1));
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  while (nodes.get('a')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  nodes.get('a')?.emit({ type: 'activeSpeakers', speakers: [] });
  assert.deepEqual(await first, { type: 'activeSpeakers', speakers: [] });
  ac.abort();
  await it.return?.();
  assert.equal(nodes.get('a')?.streamCount, 1, 'kept while the dispatcher has a participant there');
  await dispatcher.leave({ roomId: RoomId(1), participantId: ParticipantId(1) });
  while ((nodes.get('a')?.streamCount ?? 0) > 0) await new Promise((r) => setTimeout(r, 5));
});

test('what the node says right after a join reaches the first listener, even before it listened', async () => {
  const { dispatcher, nodes } = await cluster(['a']);
  await dispatcher.join(joinReq(1, 1));
  const ready = {
    type: 'publisherReady',
    participantId: ParticipantId(1),
    nodeId: 'a',
    isMigrate: false,
  } as const;
  nodes.get('a')?.emit(ready);
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  assert.deepEqual(await next(it), ready);
  ac.abort();
  await it.return?.();
});

test('when the hosting node dies, its participants are reported lost and the room is placed on a live node', async () => {
  const { dispatcher, nodes, directory } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  await dispatcher.join(joinReq(1, 2));
  assert.equal(await directory.roomNode(RoomId(1)), 'a');
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  while (nodes.get('a')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  const killedAt = performance.now();
  nodes.get('a')?.kill();
  const lost = [await first, await next(it)];
  const toldMs = performance.now() - killedAt;
  assert.deepEqual(
    lost.map((e) => (e.type === 'participantLost' ? [e.participantId, e.reason] : e.type)).sort(),
    [
      ['1', 'node_lost'],
      ['2', 'node_lost'],
    ],
  );
  assert.ok(toldMs < 5000, `told after ${toldMs} ms`);
  assert.equal(await directory.roomNode(RoomId(1)), undefined, 'mapping dropped');
  // The participants' leave finds no host and closes nothing; their rejoin goes to b.
  await dispatcher.leave({ roomId: RoomId(1), participantId: ParticipantId(1) });
  assert.equal((await dispatcher.join(joinReq(1, 1))).sdp, 'answer from b');
  // The room's event link follows the room to b.
  while (nodes.get('b')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  const after = next(it);
  nodes.get('b')?.emit({ type: 'activeSpeakers', speakers: [] });
  assert.equal((await after).type, 'activeSpeakers');
  ac.abort();
  await it.return?.();
});

test('a node whose registration stays expired past the grace is lost even if it still answers', async () => {
  const { dispatcher, nodes, directory } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  while (nodes.get('a')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  await directory.unregister(NodeId('a'));
  const event = await first;
  assert.equal(event.type === 'participantLost' && event.reason, 'node_lost');
  ac.abort();
  await it.return?.();
});

test('a node missing from a registry that restarted empty, that still answers and registers again, is not lost', async () => {
  const { dispatcher, nodes, directory } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  while (nodes.get('a')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  // Redis restarted without persistence: every key is gone, the node's next heartbeat restores it.
  await directory.close();
  await new Promise((r) => setTimeout(r, 150));
  await directory.heartbeat(nodeInfo('a'), { ttlMs: 60_000, rooms: [RoomId(1)] });
  await directory.heartbeat(nodeInfo('b', 1), { ttlMs: 60_000, rooms: [] });
  await new Promise((r) => setTimeout(r, 400));
  nodes.get('a')?.emit({ type: 'activeSpeakers', speakers: [] });
  assert.equal((await first).type, 'activeSpeakers', 'nobody was reported lost; the stream from a is kept');
  assert.equal((await dispatcher.join(joinReq(1, 2))).sdp, 'answer from a', 'the room stays on a');
  ac.abort();
  await it.return?.();
});

test("regression: a node whose heartbeat lands between a round's read of the nodes and of the room mappings (Redis back empty) is not lost", async () => {
  const { dispatcher, nodes, directory } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  while (nodes.get('a')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  // Redis restarted without persistence; the nodes' first heartbeats after it land just after the
  // dispatcher read the (still empty) node list, before it reads the room mappings.
  const roomNodes = directory.roomNodes.bind(directory);
  let heartbeats = 0;
  directory.roomNodes = async (rooms) => {
    if (heartbeats++ === 0) {
      await directory.heartbeat(nodeInfo('a'), { ttlMs: 60_000, rooms: [RoomId(1)] });
      await directory.heartbeat(nodeInfo('b', 1), { ttlMs: 60_000, rooms: [] });
    }
    return roomNodes(rooms);
  };
  await directory.close();
  while (heartbeats === 0) await new Promise((r) => setTimeout(r, 5));
  // Several rounds (50 ms apart) after it.
  await new Promise((r) => setTimeout(r, 400));
  nodes.get('a')?.emit({ type: 'activeSpeakers', speakers: [] });
  assert.equal((await first).type, 'activeSpeakers', 'nobody was reported lost; the stream from a is kept');
  assert.equal((await dispatcher.join(joinReq(1, 2))).sdp, 'answer from a', 'the room stays on a');
  ac.abort();
  await it.return?.();
});

test('a node missing from the registry that does not answer is lost before the grace ends', async () => {
  const { dispatcher, nodes, directory } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  await directory.unregister(NodeId('a'));
  const node = nodes.get('a');
  assert.ok(node);
  node.dead = true;
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const event = await next(it, 2000);
  assert.equal(event.type === 'participantLost' && event.reason, 'node_lost');
  ac.abort();
  await it.return?.();
});

test('subscribe goes to the node hosting the room now, not to a stale cached one (another instance moved the room)', async () => {
  const { dispatcher, nodes, directory, make } = await cluster(['a', 'b'], { b: 1 });
  const other = make();
  cleanups.push(() => other.close());
  await dispatcher.join(joinReq(1, 1));
  await other.join(joinReq(1, 2));
  // The first instance lost node a (for it) and placed the room on b when its publisher rejoined.
  await directory.releaseRoom(RoomId(1), NodeId('a'));
  await directory.claimRoom(RoomId(1), NodeId('b'));
  const res = await other.subscribe({
    roomId: RoomId(1),
    participantId: ParticipantId(2),
    targetId: ParticipantId(1),
  });
  assert.equal(res.offer, 'offer from b');
  assert.equal(nodes.get('a')?.calls.includes('subscribe'), false);
});

test('egress calls from an instance nobody of the room is connected to go to the node hosting the room now (regression: a stale cached node)', async () => {
  const { dispatcher, nodes, directory, make } = await cluster(['a', 'b'], { b: 1 });
  // The host's REST calls reach an instance that routes nobody of the room.
  const rest = make();
  cleanups.push(() => rest.close());
  await dispatcher.join(joinReq(1, 1));
  assert.deepEqual(await rest.listEgress(RoomId(1)), []);
  // The room closed on a and opened again on b (a is alive and keeps its registration).
  await directory.releaseRoom(RoomId(1), NodeId('a'));
  await directory.claimRoom(RoomId(1), NodeId('b'));
  assert.deepEqual(await rest.listEgress(RoomId(1)), []);
  const request = { roomId: RoomId(1), kind: 'hls' as const, participantId: null, requestedBy: 'admin' };
  await assert.rejects(rest.startEgress(request), (err: unknown) => err instanceof SfuError);
  await assert.rejects(
    rest.stopEgress({ roomId: RoomId(1), egressId: 'e1' }),
    (err: unknown) => err instanceof SfuError,
  );
  const egressCalls = (id: string) => nodes.get(id)?.calls.filter((c) => /Egress$/.test(c));
  assert.deepEqual(egressCalls('a'), ['listEgress'], 'only the call made while the room was on a');
  assert.deepEqual(egressCalls('b'), ['listEgress', 'startEgress', 'stopEgress']);
});

test('dispatcher.inspectRoom() asks the node hosting the room, from an instance that routes nobody of it', async () => {
  const { dispatcher, nodes, make } = await cluster(['a', 'b'], { b: 1 });
  const rest = make();
  cleanups.push(() => rest.close());
  await dispatcher.join(joinReq(1, 1));
  const seen = await rest.inspectRoom(RoomId(1));
  assert.equal(seen.nodeId, 'a');
  assert.deepEqual(
    seen.participants.map((p) => p.participantId),
    ['1'],
  );
  assert.deepEqual(nodes.get('b')?.calls.includes('inspectRoom'), false);
  assert.deepEqual(await rest.inspectRoom(RoomId(2)), { roomId: '2', nodeId: '', participants: [] });
});

test('a broken stream of a node that still answers is reopened, nobody is reported lost', async () => {
  const { dispatcher, nodes } = await cluster(['a']);
  await dispatcher.join(joinReq(1, 1));
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  const node = nodes.get('a');
  assert.ok(node);
  while (node.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  node.kill();
  node.dead = false;
  while (node.calls.filter((c) => c === 'events').length < 2) await new Promise((r) => setTimeout(r, 5));
  while (node.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  node.emit({ type: 'activeSpeakers', speakers: [] });
  assert.equal((await first).type, 'activeSpeakers');
  assert.equal((await dispatcher.join(joinReq(1, 2))).sdp, 'answer from a');
  ac.abort();
  await it.return?.();
});

test('dispatcher.dump merges the dumps of every live node', async () => {
  const { dispatcher } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  await dispatcher.join(joinReq(2, 2));
  const dump = await dispatcher.dump();
  assert.deepEqual(dump.rooms.map((r) => r.roomId).sort(), ['1', '2']);
});

test('dispatcher.dump sums the egress stats of the nodes that have egress, and has none when no node has', async () => {
  const { dispatcher, nodes } = await cluster(['a', 'b', 'c']);
  assert.equal((await dispatcher.dump()).egressStats, undefined);
  const stats = (hls: number, segments: number, cpu: number): EgressStats => ({
    active: { hls, recording: 1, moq: 0 },
    segmentsWritten: segments,
    bytesWritten: segments * 1000,
    uploadErrors: 1,
    transcodeCpuSeconds: cpu,
  });
  nodes.get('a')!.egressStats = stats(2, 10, 1.5);
  nodes.get('b')!.egressStats = stats(1, 5, 0.25);
  assert.deepEqual((await dispatcher.dump()).egressStats, {
    active: { hls: 3, recording: 2, moq: 0 },
    segmentsWritten: 15,
    bytesWritten: 15_000,
    uploadErrors: 2,
    transcodeCpuSeconds: 1.75,
  });
});

test('a directory that fails (Redis down) makes join fail with unavailable', async () => {
  const { directory, nodes } = await cluster(['a']);
  const broken = Object.create(directory) as MemoryNodeDirectory;
  broken.liveNodes = async () => {
    throw new Error('connect ECONNREFUSED');
  };
  broken.roomNode = broken.liveNodes as unknown as MemoryNodeDirectory['roomNode'];
  const dispatcher = new Dispatcher({
    directory: broken,
    groupId: 'g1',
    logger: silentLogger(),
    connect: () => nodes.get('a') as FakeNode,
  });
  cleanups.push(() => dispatcher.close());
  await assert.rejects(
    dispatcher.join(joinReq(1, 1)),
    (err: unknown) =>
      err instanceof SfuError && err.code === 'unavailable' && /ECONNREFUSED/.test(err.message),
  );
  await assert.rejects(
    dispatcher.subscribe({ roomId: RoomId(1), participantId: ParticipantId(1), targetId: ParticipantId(2) }),
    (err: unknown) => err instanceof SfuError && err.code === 'unavailable',
  );
});

test('dispatcher.close() ends the event iterations', async () => {
  const { dispatcher } = await cluster(['a']);
  await dispatcher.join(joinReq(1, 1));
  const seen: SfuEvent[] = [];
  const iteration = (async () => {
    for await (const event of dispatcher.events(RoomId(1), new AbortController().signal)) seen.push(event);
  })();
  await new Promise((r) => setTimeout(r, 50));
  await dispatcher.close();
  await iteration;
  assert.deepEqual(seen, []);
});

test("the room's event stream and participants follow the room when the directory maps it to another live node", async () => {
  const { dispatcher, nodes, directory } = await cluster(['a', 'b'], { b: 1 });
  await dispatcher.join(joinReq(1, 1));
  const ac = new AbortController();
  const it = dispatcher.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  const first = next(it);
  // Another instance released the room's mapping and placed it on b.
  await directory.releaseRoom(RoomId(1), NodeId('a'));
  await directory.claimRoom(RoomId(1), NodeId('b'));
  // The participant joined here on a is left behind: it leaves a and is told to publish again.
  assert.deepEqual(await first, { type: 'participantLost', participantId: '1', reason: 'node_lost' });
  while (nodes.get('b')?.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(nodes.get('a')?.streamCount, 0, 'the stream from a was closed');
  while (!nodes.get('a')?.calls.includes('leave')) await new Promise((r) => setTimeout(r, 5));
  assert.equal(nodes.get('a')?.rooms.get('1')?.size, 0, 'nobody of this instance stays on a');
  nodes.get('b')?.emit({ type: 'activeSpeakers', speakers: [] });
  assert.equal((await next(it)).type, 'activeSpeakers');
  assert.equal((await dispatcher.join(joinReq(1, 1))).sdp, 'answer from b');
  ac.abort();
  await it.return?.();
});

test('a node lost to one instance only does not split the room: the other instance moves its participants to the new node', async () => {
  const { dispatcher: second, nodes, directory, make } = await cluster(['a', 'b'], { b: 1 });
  // The first instance's view of node a: it alone loses a (a network split between the two).
  const firstView = new FakeNode('a');
  const first = make(new Map([['a', firstView]]));
  cleanups.push(() => first.close());
  await first.join(joinReq(1, 1));
  await second.join(joinReq(1, 2));
  assert.equal(await directory.roomNode(RoomId(1)), 'a');
  const listen = (d: Dispatcher) => {
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    return d.events(RoomId(1), ac.signal)[Symbol.asyncIterator]();
  };
  const firstEvents = listen(first);
  const secondEvents = listen(second);
  const firstLost = next(firstEvents);
  const secondLost = next(secondEvents);
  while (firstView.streamCount === 0) await new Promise((r) => setTimeout(r, 5));
  firstView.kill();
  assert.deepEqual(await firstLost, { type: 'participantLost', participantId: '1', reason: 'node_lost' });
  // The first instance's participant publishes again: the room is placed on b.
  assert.equal((await first.join(joinReq(1, 1))).sdp, 'answer from b');
  assert.equal(await directory.roomNode(RoomId(1)), 'b');
  // The second instance still reaches a, but follows the room: its participant leaves a and is
  // told to publish again, and its rejoin goes to b, where the rest of the room is.
  assert.deepEqual(await secondLost, { type: 'participantLost', participantId: '2', reason: 'node_lost' });
  while (!nodes.get('a')?.calls.includes('leave')) await new Promise((r) => setTimeout(r, 5));
  assert.equal(nodes.get('a')?.rooms.get('1')?.size, 0, 'nobody stays behind on a');
  assert.equal((await second.join(joinReq(1, 2))).sdp, 'answer from b');
  assert.deepEqual([...(nodes.get('b')?.rooms.get('1') ?? [])].sort(), ['1', '2'], 'one room, on b');
});
