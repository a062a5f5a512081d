import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../test/fakes/manual-clock.ts';
import { NodeId, RoomId } from '../lib/ids.ts';
import { MemoryNodeDirectory } from './memory-node-directory.ts';
import type { NodeInfo } from './node-directory.ts';

function info(id: string, participants = 0): NodeInfo {
  return {
    nodeId: NodeId(id),
    address: `127.0.0.1:${5000 + id.length}`,
    groupId: 'g1',
    load: { cpu: 0, packetsPerSecond: 0, participants, rooms: 0, freePorts: 1, draining: false },
    updatedAtMs: 0,
  };
}

test('a node is live until its TTL passes without a heartbeat', async () => {
  const clock = new ManualClock();
  const dir = new MemoryNodeDirectory({ clock });
  await dir.heartbeat(info('a'), { ttlMs: 3000, rooms: [] });
  clock.advance(2000);
  await dir.heartbeat(info('a', 4), { ttlMs: 3000, rooms: [] });
  clock.advance(2500);
  const live = await dir.liveNodes();
  assert.deepEqual(
    live.map((n) => [n.nodeId, n.load.participants]),
    [['a', 4]],
  );
  clock.advance(600);
  assert.deepEqual(await dir.liveNodes(), []);
});

test('liveNodes filters by group; unregister removes a node at once', async () => {
  const dir = new MemoryNodeDirectory({ clock: new ManualClock() });
  await dir.heartbeat(info('a'), { ttlMs: 3000, rooms: [] });
  await dir.heartbeat({ ...info('b'), groupId: 'g2' }, { ttlMs: 3000, rooms: [] });
  assert.deepEqual(
    (await dir.liveNodes('g2')).map((n) => n.nodeId),
    ['b'],
  );
  await dir.unregister(NodeId('b'));
  assert.deepEqual(
    (await dir.liveNodes()).map((n) => n.nodeId),
    ['a'],
  );
});

test('claimRoom keeps the first live owner; a dead owner is replaced', async () => {
  const clock = new ManualClock();
  const dir = new MemoryNodeDirectory({ clock });
  await dir.heartbeat(info('a'), { ttlMs: 3000, rooms: [] });
  await dir.heartbeat(info('b'), { ttlMs: 3000, rooms: [] });
  const room = RoomId(7);
  assert.equal(await dir.claimRoom(room, NodeId('a')), 'a');
  assert.equal(await dir.claimRoom(room, NodeId('b')), 'a');
  clock.advance(2000);
  await dir.heartbeat(info('b'), { ttlMs: 3000, rooms: [] });
  clock.advance(1500);
  assert.equal(await dir.claimRoom(room, NodeId('b')), 'b');
  assert.equal(await dir.roomNode(room), 'b');
});

test('a heartbeat refreshes the mapping of its rooms and restores a lost one, but not a room held by another node', async () => {
  const clock = new ManualClock();
  const dir = new MemoryNodeDirectory({ clock, roomTtlMs: 5000 });
  await dir.heartbeat(info('a'), { ttlMs: 3000, rooms: [RoomId(1)] });
  assert.equal(await dir.roomNode(RoomId(1)), 'a');
  clock.advance(4000);
  await dir.heartbeat(info('a'), { ttlMs: 3000, rooms: [RoomId(1)] });
  clock.advance(4000);
  assert.equal(await dir.roomNode(RoomId(1)), 'a');
  await dir.claimRoom(RoomId(2), NodeId('b'));
  await dir.heartbeat(info('a'), { ttlMs: 3000, rooms: [RoomId(2)] });
  assert.equal(await dir.roomNode(RoomId(2)), 'b');
  clock.advance(5001);
  assert.equal(await dir.roomNode(RoomId(2)), undefined);
});

test('releaseRoom removes the mapping only for its owner', async () => {
  const dir = new MemoryNodeDirectory({ clock: new ManualClock() });
  await dir.claimRoom(RoomId(1), NodeId('a'));
  await dir.releaseRoom(RoomId(1), NodeId('b'));
  assert.equal(await dir.roomNode(RoomId(1)), 'a');
  assert.deepEqual(await dir.roomNodes([RoomId(1), RoomId(2)]), new Map([[RoomId(1), NodeId('a')]]));
  await dir.releaseRoom(RoomId(1), NodeId('a'));
  assert.equal(await dir.roomNode(RoomId(1)), undefined);
});
