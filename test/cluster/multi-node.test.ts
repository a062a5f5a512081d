/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { BrowserContext } from 'playwright-core';
import { eventually, launchDemoBrowser, openDemo, seesVideoOf } from '../sdk/demo-page.ts';
import { events, framesAdvancingAt, record } from './call-pages.ts';
import { startCluster, startSwitchableProxy, type TestCluster } from './cluster.ts';

/**
 * The cluster as deployed: real Redis and PostgreSQL, two `bbmeet sfu` and two `bbmeet signalling`
 * processes on loopback. Two Chromium pages (the demo page and browser SDK) join one room through
 * different signalling instances and see each other's video; the SFU node hosting the room is
 * killed (SIGKILL) and both pages must be told within 5 s and come back in the call on the other
 * node, frames advancing again. Then a signalling instance is killed: its client reconnects
 * through the "load balancer" to the other instance and is back in the call.
 */

let cluster: TestCluster;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
let redis: Redis;
const contexts: BrowserContext[] = [];

describe('cluster: two signalling instances, two SFU nodes', { timeout: 300_000 }, () => {
  before(async () => {
    cluster = await startCluster({ sfuCount: 2, signallingCount: 2 });
    redis = new Redis(cluster.redis.url);
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  it('participants on different signalling instances share a room; kill -9 of its SFU node moves them to the other', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const newPage = async (url: string, name: string) => {
      const context = await chromium.newContext();
      contexts.push(context);
      return openDemo(context, url, { room: 'cluster-room', name });
    };
    const alice = await newPage(one.url, 'Alice');
    const bob = await newPage(two.url, 'Bob');
    await seesVideoOf(alice, ['Bob']);
    await seesVideoOf(bob, ['Alice']);

    const roomKeys = await redis.keys('bbmeet:room:*');
    assert.equal(roomKeys.length, 1, `one room placed: ${roomKeys.join(', ')}`);
    const roomKey = roomKeys[0] ?? '';
    const hostId = await redis.get(roomKey);
    const host = cluster.sfus.find((s) => s.nodeId === hostId);
    const other = cluster.sfus.find((s) => s.nodeId !== hostId);
    assert.ok(host && other, `room hosted by a known node (${hostId})`);

    await record(alice);
    await record(bob);
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
    const restoredAt = await Promise.all([
      framesAdvancingAt(alice, 'Bob', killedAt),
      framesAdvancingAt(bob, 'Alice', killedAt),
    ]);
    const restoredMs = restoredAt.map((t) => t - killedAt);
    console.log(
      `cluster failover: told ${toldMs.join(' / ')} ms after the kill (Alice / Bob); frames advancing again after ${restoredMs.join(' / ')} ms`,
    );
    for (const ms of toldMs) assert.ok(ms <= 5000, `told within 5 s of the kill (${ms} ms)`);
    for (const ms of restoredMs) assert.ok(ms <= 5000, `back in the call within 5 s of the kill (${ms} ms)`);
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
    for (const context of contexts.splice(0)) await context.close();
  });

  it('kill -9 of a signalling instance: its client reconnects through the load balancer to the other and is back in the call', async () => {
    const [one, two] = cluster.signallings;
    assert.ok(one && two);
    const balancer = await startSwitchableProxy(one.port);
    try {
      const newPage = async (url: string, name: string) => {
        const context = await chromium.newContext();
        contexts.push(context);
        return openDemo(context, url, { room: 'cluster-room-2', name });
      };
      const carol = await newPage(balancer.url, 'Carol');
      const dave = await newPage(two.url, 'Dave');
      await seesVideoOf(carol, ['Dave']);
      await seesVideoOf(dave, ['Carol']);
      await record(carol);
      const carolId = await carol.evaluate(
        () =>
          (window as unknown as { bbmeet: { room: { localParticipant: { id: string } | null } } }).bbmeet.room
            .localParticipant?.id,
      );
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
      const restoredAt = await Promise.all([
        framesAdvancingAt(carol, 'Dave', killedAt),
        framesAdvancingAt(dave, 'Carol', killedAt),
      ]);
      console.log(
        `signalling failover: Carol reconnected ${reconnectedMs} ms after the kill; frames advancing again after ${restoredAt.map((t) => t - killedAt).join(' / ')} ms (at Carol / at Dave)`,
      );
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
