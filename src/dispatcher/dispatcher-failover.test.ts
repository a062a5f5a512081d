import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import {
  cleanups,
  cluster,
  FakeNode,
  joinReq,
  next,
  nodeInfo,
  runCleanups,
} from '../../test/fakes/fake-sfu-node.ts';
import { NodeId, ParticipantId, RoomId } from '../lib/ids.ts';
import type { Dispatcher } from './dispatcher.ts';

/**
 * The dispatcher when nodes fail: a dead node's participants reported lost and its rooms placed
 * anew, registrations that expire or vanish with Redis, broken streams, and rooms that moved.
 */
afterEach(runCleanups);

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
