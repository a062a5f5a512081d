import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import {
  cleanups,
  cluster,
  type FakeNode,
  joinReq,
  next,
  nodeInfo,
  runCleanups,
} from '../../test/fakes/fake-sfu-node.ts';
import { SfuError } from '../lib/errors.ts';
import { NodeId, ParticipantId, RoomId } from '../lib/ids.ts';
import { silentLogger } from '../lib/logger.ts';
import type { EgressStats } from '../protocol/egress.ts';
import type { SfuEvent } from '../protocol/sfu-api.ts';
import { Dispatcher } from './dispatcher.ts';
import type { MemoryNodeDirectory } from './memory-node-directory.ts';

afterEach(runCleanups);

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
