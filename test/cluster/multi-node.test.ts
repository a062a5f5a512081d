import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { BrowserContext, Page } from 'playwright-core';
import { eventually, launchDemoBrowser, openDemo, seesVideoOf } from '../sdk/demo-page.ts';
import {
  events,
  framesAdvancingAt,
  framesOf,
  longestFreeze,
  peerConnectionTrace,
  record,
  tracePeerConnections,
} from './call-pages.ts';
import {
  acknowledged,
  assertNoAcknowledgedChatLost,
  type ChatRoom,
  chatRoom,
  startChat,
} from './chat-during-fault.ts';
import { startCluster, startSwitchableProxy, type TestCluster } from './cluster.ts';

/**
 * The cluster as deployed: real Redis and PostgreSQL, two `bbmeet sfu` and two `bbmeet signalling`
 * processes on loopback, Chromium demo pages (browser SDK) in calls across both instances, and a
 * chat message posted every 100 ms during each fault (none acknowledged may be lost, none may
 * hang). Redis is stopped for 5 s: the call goes on and is joinable again. PostgreSQL is restarted:
 * the call goes on and chat is refused with 503 while it is down, stored again after. The SFU node hosting a
 * room is killed (SIGKILL): both pages are told within 5 s and come back on the other node. A
 * signalling instance is killed: its client reconnects through the "load balancer" to the other.
 */

let cluster: TestCluster;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let redis: Redis;
const contexts: BrowserContext[] = [];

async function newPage(url: string, room: ChatRoom, name: string): Promise<Page> {
  const context = await chromium.newContext();
  contexts.push(context);
  await tracePeerConnections(context);
  return openDemo(context, url, { room: room.code, name });
}

async function closePages(): Promise<void> {
  for (const context of contexts.splice(0)) await context.close();
}

/** Alternates between the URLs, one per call: chat spread over both instances. */
function roundRobin(urls: string[]): () => string {
  let n = 0;
  return () => urls[n++ % urls.length] ?? '';
}

/** Marks where each role process's log stands; the function returned names the warnings and errors logged since. */
/** `restored`, or its error with what each role logged since `logs` was marked. */
async function withLogs<T>(restored: Promise<T>, logs: () => string): Promise<T> {
  try {
    return await restored;
  } catch (err) {
    throw new Error(`${(err as Error).message}; warnings and errors logged: ${logs()}`, { cause: err });
  }
}

function logMark(): () => string {
  const procs = [...cluster.sfus, ...cluster.signallings].map((s) => s.process);
  const marks = procs.map((p) => p.logs.length);
  return () =>
    procs
      .map((p, i) => {
        const counts = new Map<string, number>();
        for (const l of p.logs.slice(marks[i]).filter((line) => line.level >= 40)) {
          const key = `${l.level >= 50 ? 'error' : 'warn'} "${l.msg}"`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return `${p.name}: ${[...counts].map(([m, n]) => `${m} x${n}`).join(', ') || 'none'}`;
      })
      .join('; ');
}

describe('cluster: two signalling instances, two SFU nodes', { timeout: 300_000 }, () => {
  before(async () => {
    cluster = await startCluster({ sfuCount: 2, signallingCount: 2 });
    redis = new Redis(cluster.redis.url);
    // Redis is stopped in a test; the client reconnects by itself and reads only after.
    redis.on('error', () => undefined);
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  it('Redis restarted during a live call and chat', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const room = await chatRoom(one.url, 'redis-room');
    const erin = await newPage(one.url, room, 'Erin');
    const frank = await newPage(two.url, room, 'Frank');
    await seesVideoOf(erin, ['Frank']);
    await seesVideoOf(frank, ['Erin']);
    await record(erin);
    await record(frank);
    const hostId = await redis.get(`bbmeet:room:${room.roomId}`);
    assert.ok(
      cluster.sfus.some((s) => s.nodeId === hostId),
      `room hosted by a known node (${hostId})`,
    );

    const logs = logMark();

    const chat = startChat(room, 'redis', roundRobin([one.url, two.url]));
    const framesBefore = [await framesOf(erin, 'Frank'), await framesOf(frank, 'Erin')];
    const outage = cluster.redis.outage(5000);
    const freezes = Promise.all([longestFreeze(erin, 'Frank', outage), longestFreeze(frank, 'Erin', outage)]);
    await outage;
    const backAt = Date.now();
    const framesDuring = [await framesOf(erin, 'Frank'), await framesOf(frank, 'Erin')];
    const restoredAt = await withLogs(
      Promise.all([framesAdvancingAt(erin, 'Frank', backAt), framesAdvancingAt(frank, 'Erin', backAt)]),
      logs,
    );
    // Chat goes on for 2 s after Redis is back.
    const posts = await chat.stop(70);
    const restoredMs = restoredAt.map((t) => t - backAt);
    const chatSummary = await assertNoAcknowledgedChatLost(two.url, room, posts);
    console.log(
      `redis down 5 s: frames decoded during the outage ${framesDuring.map((f, i) => f - (framesBefore[i] ?? 0)).join(' / ')} (at Erin / at Frank), longest freeze ${(await freezes).join(' / ')} ms; frames advancing ${restoredMs.join(' / ')} ms after Redis was back; ${chatSummary}; warnings and errors logged: ${logs()}`,
    );
    for (const [i, ms] of restoredMs.entries()) {
      const page = [erin, frank][i]!;
      if (ms > 5000)
        assert.fail(
          `frames advance within 5 s of Redis back (${ms} ms); connections: ${await peerConnectionTrace(page, backAt)}`,
        );
    }
    for (const p of [...cluster.sfus, ...cluster.signallings].map((s) => s.process))
      assert.equal(p.child.exitCode, null, `${p.name} is still running; ${p.tail}`);
    assert.ok(
      posts.some((p) => p.outcome === 201),
      'chat was acknowledged during or after the outage',
    );

    // The room is mapped to its node again: a newcomer joins the same call.
    const back = await eventually(
      () => redis.get(`bbmeet:room:${room.roomId}`),
      (nodeId) => nodeId !== null,
      'the room mapped again',
      10_000,
    );
    assert.equal(back, hostId, 'the room stays on its node');
    const gina = await newPage(one.url, room, 'Gina');
    await seesVideoOf(gina, ['Erin', 'Frank']);
    await seesVideoOf(erin, ['Frank', 'Gina']);
    console.log(
      `redis events: Erin ${JSON.stringify(await events(erin))}, Frank ${JSON.stringify(await events(frank))}`,
    );
    await closePages();
  });

  it('PostgreSQL restarted during a live call and chat', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two && cluster.postgres);
    const room = await chatRoom(one.url, 'postgres-room');
    const hana = await newPage(one.url, room, 'Hana');
    const ivan = await newPage(two.url, room, 'Ivan');
    await seesVideoOf(hana, ['Ivan']);
    await seesVideoOf(ivan, ['Hana']);

    const logs = logMark();

    const chat = startChat(room, 'postgres', roundRobin([one.url, two.url]));
    await eventually(
      async () => chat.answered.length,
      (n) => n > 0,
      'a chat post answered before the restart',
      5000,
    );
    const restart = cluster.postgres.restart({ downMs: 3000 });
    const freezes = Promise.all([longestFreeze(hana, 'Ivan', restart), longestFreeze(ivan, 'Hana', restart)]);
    await restart;
    const backAt = Date.now();
    const restoredAt = await withLogs(
      Promise.all([framesAdvancingAt(hana, 'Ivan', backAt), framesAdvancingAt(ivan, 'Hana', backAt)]),
      logs,
    );
    const storedAgain = await eventually(
      async () => chat.answered.filter((p) => p.sentAt > backAt && acknowledged(p)),
      (list) => list.length > 0,
      'chat acknowledged after PostgreSQL is back',
      15_000,
    );
    const posts = await chat.stop();
    const restoredMs = restoredAt.map((t) => t - backAt);
    const chatSummary = await assertNoAcknowledgedChatLost(two.url, room, posts);
    console.log(
      `postgres down 3 s: longest freeze ${(await freezes).join(' / ')} ms (at Hana / at Ivan); frames advancing ${restoredMs.join(' / ')} ms after PostgreSQL was back; chat acknowledged again ${(storedAgain[0]?.sentAt ?? Number.NaN) - backAt} ms after; ${chatSummary}; warnings and errors logged: ${logs()}`,
    );
    assert.ok(
      posts.some((p) => p.outcome === 503),
      'posts while PostgreSQL was down were refused with 503',
    );
    for (const ms of restoredMs)
      assert.ok(ms <= 5000, `frames advance within 5 s of PostgreSQL back (${ms} ms)`);
    for (const p of [...cluster.sfus, ...cluster.signallings].map((s) => s.process))
      assert.equal(p.child.exitCode, null, `${p.name} is still running; ${p.tail}`);
    await closePages();
  });

  it('participants on different signalling instances share a room; kill -9 of its SFU node moves them to the other, chat goes on', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const room = await chatRoom(one.url, 'cluster-room');
    const alice = await newPage(one.url, room, 'Alice');
    const bob = await newPage(two.url, room, 'Bob');
    await seesVideoOf(alice, ['Bob']);
    await seesVideoOf(bob, ['Alice']);

    const roomKey = `bbmeet:room:${room.roomId}`;
    const hostId = await redis.get(roomKey);
    const host = cluster.sfus.find((s) => s.nodeId === hostId);
    const other = cluster.sfus.find((s) => s.nodeId !== hostId);
    assert.ok(host && other, `room hosted by a known node (${hostId})`);

    await record(alice);
    await record(bob);
    const logs = logMark();
    const chat = startChat(room, 'sfu-kill', roundRobin([one.url, two.url]));
    const killedAt = Date.now();
    await host.process.kill('SIGKILL');

    const told = await Promise.all(
      [alice, bob].map((page) =>
        eventually(
          () => events(page),
          (list) => list.some((e) => e.type === 'reconnecting'),
          'reconnecting after the kill',
          10_000,
        ).then((list) => list.find((e) => e.type === 'reconnecting')),
      ),
    );
    const toldMs = told.map((e) => (e?.at ?? Number.NaN) - killedAt);
    assert.deepEqual(
      told.map((e) => e?.payload),
      [{ reason: 'media' }, { reason: 'media' }],
    );
    const restoredAt = await withLogs(
      Promise.all([framesAdvancingAt(alice, 'Bob', killedAt), framesAdvancingAt(bob, 'Alice', killedAt)]),
      logs,
    );
    // 5 s of chat from the kill on, whenever the call is back.
    const posts = await chat.stop(50);
    const restoredMs = restoredAt.map((t) => t - killedAt);
    const chatSummary = await assertNoAcknowledgedChatLost(two.url, room, posts);
    console.log(
      `cluster failover: told ${toldMs.join(' / ')} ms after the kill (Alice / Bob); frames advancing again after ${restoredMs.join(' / ')} ms; ${chatSummary}; warnings and errors logged: ${logs()}`,
    );
    for (const ms of toldMs) assert.ok(ms <= 5000, `told within 5 s of the kill (${ms} ms)`);
    for (const [i, ms] of restoredMs.entries()) {
      const page = [alice, bob][i]!;
      if (ms > 5000)
        assert.fail(
          `back in the call within 5 s of the kill (${ms} ms); events ${JSON.stringify(await events(page))}; connections: ${await peerConnectionTrace(page, killedAt)}`,
        );
    }
    // Chat never touches an SFU node: losing one refuses nothing.
    assert.deepEqual(
      posts.filter((p) => p.outcome !== 201),
      [],
      'every chat post acknowledged',
    );
    assert.equal(await redis.get(roomKey), other.nodeId, 'the room now lives on the other node');
    await seesVideoOf(alice, ['Bob']);
    await seesVideoOf(bob, ['Alice']);
    const reconnected = await Promise.all([alice, bob].map((p) => events(p)));
    for (const list of reconnected) {
      assert.ok(
        list.some((e) => e.type === 'reconnected'),
        `reconnected: ${JSON.stringify(list)}`,
      );
    }
    await closePages();
  });

  it('kill -9 of a signalling instance: its client reconnects through the load balancer to the other and is back in the call, chat through the balancer is refused clearly or stored', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const balancer = await startSwitchableProxy(one.port);
    try {
      const room = await chatRoom(two.url, 'cluster-room-2');
      const carol = await newPage(balancer.url, room, 'Carol');
      const dave = await newPage(two.url, room, 'Dave');
      await seesVideoOf(carol, ['Dave']);
      await seesVideoOf(dave, ['Carol']);
      await record(carol);
      const carolId = await carol.evaluate(
        () =>
          (window as unknown as { bbmeet: { room: { localParticipant: { id: string } | null } } }).bbmeet.room
            .localParticipant?.id,
      );
      const logs = logMark();
      const chat = startChat(room, 'signalling-kill', () => balancer.url);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const killedAt = Date.now();
      await one.process.kill('SIGKILL');
      balancer.target = two.port;
      const back = await eventually(
        () => events(carol),
        (list) => list.some((e) => e.type === 'reconnected'),
        'Carol reconnected',
        30_000,
      );
      const reconnectedMs = (back.find((e) => e.type === 'reconnected')?.at ?? Number.NaN) - killedAt;
      const restoredAt = await withLogs(
        Promise.all([framesAdvancingAt(carol, 'Dave', killedAt), framesAdvancingAt(dave, 'Carol', killedAt)]),
        logs,
      );
      // 5 s of chat from the kill on.
      const posts = await chat.stop(55);
      // The balancer sent some posts to the instance as it died: their connections were cut.
      const chatSummary = await assertNoAcknowledgedChatLost(two.url, room, posts, { cutConnections: true });
      console.log(
        `signalling failover: Carol reconnected ${reconnectedMs} ms after the kill; frames advancing again after ${restoredAt.map((t) => t - killedAt).join(' / ')} ms (at Carol / at Dave); ${chatSummary}; warnings and errors logged: ${logs()}`,
      );
      assert.equal(posts.at(-1)?.outcome, 201, 'chat through the balancer is acknowledged again');
      await seesVideoOf(carol, ['Dave']);
      await seesVideoOf(dave, ['Carol']);
      assert.deepEqual(
        back.find((e) => e.type === 'reconnected')?.payload,
        { participantId: carolId, rejoined: false },
        'the same participant came back (room.reconnect on the other instance)',
      );
    } finally {
      await balancer.close();
    }
  });
});
