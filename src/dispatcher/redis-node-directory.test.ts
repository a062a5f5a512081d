import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../../test/support/redis.ts';
import { NodeId, RoomId } from '../lib/ids.ts';
import type { NodeInfo } from './node-directory.ts';
import { RedisNodeDirectory } from './redis-node-directory.ts';

let server: TestRedis;
let redis: Redis;
let prefixes = 0;

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 20 });
  // Connection errors during the restart test are expected: the client reconnects by itself.
  redis.on('error', () => undefined);
});

after(async () => {
  redis.disconnect();
  await server.stop();
});

function directory(options: { roomTtlMs?: number } = {}) {
  return new RedisNodeDirectory({ redis, prefix: `t${++prefixes}`, ...options });
}

function info(id: string, participants = 0): NodeInfo {
  return {
    nodeId: NodeId(id),
    address: `127.0.0.1:${50_000 + id.length}`,
    groupId: 'g1',
    load: { cpu: 0.25, packetsPerSecond: 100, participants, rooms: 1, freePorts: 3, draining: false },
    updatedAtMs: Date.now(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a registered node is listed with its load and expires after its TTL', async () => {
  const dir = directory();
  await dir.heartbeat(info('a', 4), { ttlMs: 300, rooms: [] });
  await dir.heartbeat({ ...info('b'), groupId: 'g2' }, { ttlMs: 10_000, rooms: [] });
  const live = await dir.liveNodes('g1');
  assert.deepEqual(
    live,
    [info('a', 4)].map((n) => ({ ...n, updatedAtMs: live[0]?.updatedAtMs })),
  );
  await sleep(450);
  assert.deepEqual(await dir.liveNodes('g1'), []);
  assert.deepEqual(
    (await dir.liveNodes()).map((n) => n.nodeId),
    ['b'],
  );
  // The expired node also left the registry's set.
  assert.deepEqual(await redis.smembers(`t${prefixes}:nodes`), ['b']);
});

test('unregister removes a node at once; a malformed entry is ignored', async () => {
  const dir = directory();
  await dir.heartbeat(info('a'), { ttlMs: 10_000, rooms: [] });
  await redis.set(`t${prefixes}:node:bad`, '{"nodeId": 3}');
  await redis.sadd(`t${prefixes}:nodes`, 'bad');
  assert.deepEqual(
    (await dir.liveNodes()).map((n) => n.nodeId),
    ['a'],
  );
  await dir.unregister(NodeId('a'));
  assert.deepEqual(await dir.liveNodes(), []);
});

test('concurrent claims of a new room agree on one node', async () => {
  const dir = directory();
  for (const id of ['a', 'b', 'c']) await dir.heartbeat(info(id), { ttlMs: 10_000, rooms: [] });
  const owners = await Promise.all(
    Array.from({ length: 30 }, (_, i) => dir.claimRoom(RoomId(5), NodeId(['a', 'b', 'c'][i % 3] ?? 'a'))),
  );
  assert.equal(new Set(owners).size, 1);
  assert.equal(await dir.roomNode(RoomId(5)), owners[0]);
  assert.deepEqual(await dir.roomNodes([RoomId(5), RoomId(6)]), new Map([[RoomId(5), owners[0]]]));
});

test('a room mapped to a node whose registration expired is claimed by the next caller', async () => {
  const dir = directory();
  await dir.heartbeat(info('a'), { ttlMs: 200, rooms: [] });
  await dir.heartbeat(info('b'), { ttlMs: 10_000, rooms: [] });
  assert.equal(await dir.claimRoom(RoomId(1), NodeId('a')), 'a');
  assert.equal(await dir.claimRoom(RoomId(1), NodeId('b')), 'a');
  await sleep(300);
  assert.equal(await dir.claimRoom(RoomId(1), NodeId('b')), 'b');
  await dir.releaseRoom(RoomId(1), NodeId('a'));
  assert.equal(await dir.roomNode(RoomId(1)), 'b', 'release by a non-owner changes nothing');
  await dir.releaseRoom(RoomId(1), NodeId('b'));
  assert.equal(await dir.roomNode(RoomId(1)), undefined);
});

test('room mappings expire unless their node refreshes them', async () => {
  const dir = directory({ roomTtlMs: 300 });
  await dir.heartbeat(info('a'), { ttlMs: 10_000, rooms: [] });
  await dir.claimRoom(RoomId(1), NodeId('a'));
  await dir.claimRoom(RoomId(2), NodeId('a'));
  await sleep(200);
  await dir.heartbeat(info('a'), { ttlMs: 10_000, rooms: [RoomId(1)] });
  await sleep(200);
  assert.equal(await dir.roomNode(RoomId(1)), 'a');
  assert.equal(await dir.roomNode(RoomId(2)), undefined);
});

test('after a Redis restart, the next heartbeat registers the node and its rooms again', async () => {
  const dir = directory();
  await dir.heartbeat(info('a'), { ttlMs: 10_000, rooms: [RoomId(1)] });
  assert.equal(await dir.roomNode(RoomId(1)), 'a');
  await server.restart();
  // Every key is gone; the client reconnects by itself (commands wait in its queue meanwhile).
  assert.deepEqual(await dir.liveNodes(), []);
  assert.equal(await dir.roomNode(RoomId(1)), undefined);
  await dir.heartbeat(info('a'), { ttlMs: 10_000, rooms: [RoomId(1)] });
  assert.deepEqual(
    (await dir.liveNodes()).map((n) => n.nodeId),
    ['a'],
  );
  assert.equal(await dir.roomNode(RoomId(1)), 'a');
});
