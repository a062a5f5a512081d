import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import { Dispatcher, RedisNodeDirectory } from '../../src/dispatcher/index.ts';
import { ParticipantId, RoomId } from '../../src/lib/ids.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { defaultMediaState } from '../../src/protocol/sfu-api.ts';
import { SfuGrpcClient } from '../../src/rpc/index.ts';
import { eventually } from '../sdk/demo-page.ts';
import { freeTcpPort, startCluster, type TestCluster } from './cluster.ts';

/**
 * Two `bbmeet sfu` processes with a real Redis, driven by a Dispatcher in the test (as a signalling
 * instance drives them): registration, recovery after a Redis restart, and draining on SIGTERM.
 */

let cluster: TestCluster;
let redis: Redis;
let dispatcher: Dispatcher;
let directory: RedisNodeDirectory;
/** Each node's SFU_METRICS_PORT, by node id. */
const metricsPorts = new Map<string, number>();
const peers: RTCPeerConnection[] = [];

/** A werift publisher's offer (video + audio), enough for the node to answer a join. */
async function offer(): Promise<string> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  peers.push(pc);
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription?.sdp ?? '';
}

async function join(room: number, participant: number): Promise<void> {
  await dispatcher.join({
    roomId: RoomId(room),
    participantId: ParticipantId(participant),
    sdp: await offer(),
    totalTracks: 2,
    mediaState: defaultMediaState(),
    isMigrate: false,
  });
}

const leave = (room: number, participant: number) =>
  dispatcher.leave({ roomId: RoomId(room), participantId: ParticipantId(participant) });

describe('cluster roles: SFU nodes in Redis', { timeout: 180_000 }, () => {
  before(async () => {
    cluster = await startCluster({
      sfuCount: 2,
      signallingCount: 0,
      sfuEnv: async ({ nodeId }) => {
        const port = await freeTcpPort();
        metricsPorts.set(nodeId, port);
        return { SFU_METRICS_PORT: String(port) };
      },
    });
    redis = new Redis(cluster.redis.url, { maxRetriesPerRequest: 20 });
    // The restart test takes Redis away for a moment; the client reconnects by itself.
    redis.on('error', () => undefined);
    directory = new RedisNodeDirectory({ redis });
    dispatcher = new Dispatcher({
      directory,
      groupId: 'bbmeet-group-1',
      logger: silentLogger(),
      connect: (node) => new SfuGrpcClient(node.address),
    });
  });

  after(async () => {
    await dispatcher?.close();
    await Promise.all(peers.map((pc) => pc.close()));
    redis?.disconnect();
    await cluster?.stop();
  });

  it('each node registers its gRPC address and load, and refreshes it every second', async () => {
    const nodes = await directory.liveNodes();
    assert.deepEqual(
      nodes.map((n) => [n.nodeId, n.address, n.groupId, n.load.draining]).sort(),
      cluster.sfus.map((s) => [s.nodeId, `127.0.0.1:${s.sfuPort}`, 'bbmeet-group-1', false]).sort(),
    );
    const before = nodes[0]?.updatedAtMs ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const later = (await directory.liveNodes()).find((n) => n.nodeId === nodes[0]?.nodeId);
    assert.ok((later?.updatedAtMs ?? 0) > before, 'heartbeat advanced');
    const ttl = await redis.pttl(`bbmeet:node:${nodes[0]?.nodeId}`);
    assert.ok(ttl > 0 && ttl <= 3000, `registration expires on its own (pttl ${ttl})`);
  });

  it('each node serves its media path metrics on SFU_METRICS_PORT, labelled by worker', async () => {
    const scrapeAll = () =>
      Promise.all(
        cluster.sfus.map(async (s) =>
          (await fetch(`http://127.0.0.1:${metricsPorts.get(s.nodeId)}/metrics`)).text(),
        ),
      );
    const publishers = (texts: string[]) =>
      texts.reduce(
        (n, t) => n + Number(/^bbmeet_media_worker_publishers\{worker="0"\} (\S+)$/m.exec(t)?.[1] ?? 0),
        0,
      );
    for (const text of await scrapeAll()) {
      assert.match(text, /^bbmeet_media_packets_received_total\{worker="0",kind="rtp"\} \d+$/m);
      assert.match(text, /^bbmeet_process_cpu_seconds_total /m);
    }
    await join(70, 1);
    try {
      // Workers report once a second.
      await eventually(scrapeAll, (texts) => publishers(texts) === 1, 'the publisher counted', 10_000);
    } finally {
      await leave(70, 1);
    }
    await eventually(scrapeAll, (texts) => publishers(texts) === 0, 'the publisher gone', 10_000);
  });

  it('after a Redis restart the nodes register again and their rooms are mapped again', async () => {
    await join(1, 1);
    const host = await directory.roomNode(RoomId(1));
    assert.ok(host);
    await cluster.redis.restart();
    const restartedAt = Date.now();
    const nodes = await eventually(
      () => directory.liveNodes().catch(() => []),
      (list) => list.length === 2,
      'both nodes registered again',
      10_000,
    );
    const back = await eventually(
      () => directory.roomNode(RoomId(1)).catch(() => undefined),
      (nodeId) => nodeId !== undefined,
      'the room mapped again',
      10_000,
    );
    console.log(
      `redis restart: ${nodes.length} nodes and the room back ${Date.now() - restartedAt} ms later`,
    );
    assert.equal(back, host, 'the room stays on its node');
    await join(2, 2);
    assert.ok(await directory.roomNode(RoomId(2)), 'new rooms are placed again');
    await leave(1, 1);
    await leave(2, 2);
  });

  it('a node told to stop (SIGTERM) drains: no new rooms, its rooms keep working, it exits once they are empty', async () => {
    await join(3, 31);
    const hostId = await directory.roomNode(RoomId(3));
    const host = cluster.sfus.find((s) => s.nodeId === hostId);
    const other = cluster.sfus.find((s) => s.nodeId !== hostId);
    assert.ok(host && other);
    host.process.child.kill('SIGTERM');
    await eventually(
      () => directory.liveNodes(),
      (list) => list.some((n) => n.nodeId === hostId && n.load.draining),
      'the node marked draining',
      5000,
    );
    await join(4, 41);
    assert.equal(await directory.roomNode(RoomId(4)), other.nodeId, 'a new room goes to the other node');
    await join(3, 32);
    assert.equal(await directory.roomNode(RoomId(3)), hostId, 'its own room still joins there');
    assert.equal(host.process.child.exitCode, null, 'still running while its room has participants');
    const emptiedAt = Date.now();
    await leave(3, 31);
    await leave(3, 32);
    assert.equal(await host.process.exited, 0);
    console.log(`drain: exited ${Date.now() - emptiedAt} ms after its last room emptied`);
    assert.deepEqual(
      (await directory.liveNodes()).map((n) => n.nodeId),
      [other.nodeId],
      'unregistered at exit',
    );
    assert.equal(await directory.roomNode(RoomId(4)), other.nodeId);
    await leave(4, 41);
  });

  it('a node that freezes without closing its connections (SIGSTOP) is declared lost once its registration expires', async () => {
    const extra = await cluster.addSfu('sfu-c');
    await join(5, 51);
    const hostId = await directory.roomNode(RoomId(5));
    const proc = [...cluster.sfus, extra].find((s) => s.nodeId === hostId)?.process;
    assert.ok(proc, `room hosted by a known node (${hostId})`);
    const ac = new AbortController();
    const lost = (async () => {
      for await (const event of dispatcher.events(RoomId(5), ac.signal))
        if (event.type === 'participantLost') return { event, at: Date.now() };
      return undefined;
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const frozenAt = Date.now();
    proc.child.kill('SIGSTOP');
    try {
      const result = await lost;
      const toldMs = (result?.at ?? Number.NaN) - frozenAt;
      console.log(`silent node death: participant told ${toldMs} ms after the node froze`);
      assert.deepEqual(result?.event, { type: 'participantLost', participantId: '51', reason: 'node_lost' });
      assert.ok(toldMs <= 5000, `told within 5 s (${toldMs} ms)`);
      await leave(5, 51);
      await join(5, 51);
      assert.notEqual(await directory.roomNode(RoomId(5)), hostId, 'the room is placed on a live node');
      await leave(5, 51);
    } finally {
      ac.abort();
      await proc.kill('SIGKILL');
    }
  });
});
