import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { RoomId } from '../../src/lib/ids.ts';
import { runningMediaWorkerPools } from '../../src/sfu/media-worker-pool.ts';
import { launchChromium } from '../support/browser.ts';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import {
  login,
  nextEvent,
  type RestCall,
  restClient,
  roomWithParticipants,
  type TestUser,
} from '../support/clients.ts';
import { freeUdpPorts, startTestServer, type TestServer } from '../support/server.ts';

/**
 * A media worker thread dies under live calls. The crash is injected with the pool's
 * `terminateWorker()` (Worker.terminate: the thread stops at once, as after a fatal error); the
 * pool is found through `runningMediaWorkerPools()` because the embedded server exposes only its
 * SfuApi. Only the rooms of that worker are affected, and the restarted worker serves new calls.
 */
describe('a media worker crashing under live calls', { timeout: 240_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  const users: TestUser[] = [];

  before(async () => {
    // Free for UDP, TCP (ICE-TCP) and IPv6, as the two workers bind them.
    const port = await freeUdpPorts(2);
    server = await startTestServer(
      { MEDIA_WORKERS: '2', PORT_MIN_UDP: String(port), PORT_MAX_UDP: String(port + 1) },
      { media: true },
    );
    call = restClient(server.baseUrl);
    chromium = await launchChromium();
    for (const name of ['ann', 'ben', 'cat', 'dan']) users.push(await login(call, `crash-${name}`, name));
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  /** Two Chromium participants who publish and decode each other. */
  async function liveCall(
    context: BrowserContext,
    roomId: string,
    pids: string[],
    callers: TestUser[],
  ): Promise<[ChromiumParticipant, ChromiumParticipant]> {
    const first = await ChromiumParticipant.join({
      baseUrl: server.baseUrl,
      token: callers[0]!.token,
      context,
      roomId,
      participantId: pids[0]!,
    });
    const second = await ChromiumParticipant.join({
      baseUrl: server.baseUrl,
      token: callers[1]!.token,
      context,
      roomId,
      participantId: pids[1]!,
    });
    await second.subscribe(first.participantId);
    for (const [p, other] of [
      [first, second],
      [second, first],
    ] as const) {
      await waitFor(
        () => p.statsFrom(other.participantId),
        (s) => (s?.framesDecoded ?? 0) > 10,
        `${p.participantId} decoding ${other.participantId}`,
        30_000,
      );
    }
    return [first, second];
  }

  it('the crashed worker’s room is told to reconnect, the other room’s call goes on, and room A works again on the restarted worker', async () => {
    const pools = runningMediaWorkerPools();
    assert.equal(pools.length, 1, 'the test server’s pool');
    const pool = pools[0]!;
    assert.equal(pool.workerCount, 2);
    const roomA = await roomWithParticipants(call, users.slice(0, 2), 'Room A');
    const roomB = await roomWithParticipants(call, users.slice(2, 4), 'Room B');
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      const [ann, ben] = await liveCall(context, roomA.roomId, roomA.pids, users.slice(0, 2));
      people.push(ann, ben);
      const [cat, dan] = await liveCall(context, roomB.roomId, roomB.pids, users.slice(2, 4));
      people.push(cat, dan);
      const placement = pool.placement();
      const slotA = placement.find((p) => p.rooms.includes(RoomId(ann.roomId)))!;
      const slotB = placement.find((p) => p.rooms.includes(RoomId(cat.roomId)))!;
      assert.notEqual(slotA.index, slotB.index, 'the rooms live on different workers');

      const annTold = nextEvent<{ code: string; message: string }>(ann.socket, 'system.error', 10_000);
      const benTold = nextEvent<{ code: string; message: string }>(ben.socket, 'system.error', 10_000);
      // The pool reports a dead worker's participants in the order they joined: Ann first, so Ben,
      // still in the room then, hears that she left.
      const benHearsAnnLeft = nextEvent<{ targetId: string }>(
        ben.socket,
        'room.participant_left',
        10_000,
        (m) => m.targetId === ann.participantId,
      );
      const catBefore = (await cat.statsFrom(dan.participantId))!;
      const danBefore = (await dan.statsFrom(cat.participantId))!;

      await pool.terminateWorker(slotA.index);

      for (const told of [await annTold, await benTold]) {
        assert.equal(told.code, 'unavailable');
        assert.match(told.message, /worker_restarted.*publish again/);
      }
      await benHearsAnnLeft;
      const afterCrash = pool.placement();
      assert.equal(afterCrash[slotA.index]!.restarts, 1, 'the crashed worker was restarted');
      assert.equal(afterCrash[slotB.index]!.restarts, 0, 'the other worker was not touched');
      const dump = await waitFor(
        () => server.sfu.dump(),
        (d) => d.rooms.length === 1,
        'room A gone from the SFU',
        5000,
      );
      assert.equal(dump.rooms[0]!.roomId, cat.roomId);
      assert.equal(dump.transports, 2 + 2, 'room B’s two publishers and two subscriptions');

      // Room B's call never noticed.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const catAfter = (await cat.statsFrom(dan.participantId))!;
      const danAfter = (await dan.statsFrom(cat.participantId))!;
      assert.ok(catAfter.framesDecoded > catBefore.framesDecoded, 'cat still decodes dan');
      assert.ok(danAfter.framesDecoded > danBefore.framesDecoded, 'dan still decodes cat');
      assert.equal(catAfter.videoPacketsLost, 0);
      assert.equal(danAfter.videoPacketsLost, 0);

      // Ann and Ben do what they were told: tear down and publish again with the same ids.
      for (const p of [ann, ben]) {
        await p.close();
        people.splice(people.indexOf(p), 1);
      }
      const [ann2, ben2] = await liveCall(context, roomA.roomId, roomA.pids, users.slice(0, 2));
      people.push(ann2, ben2);
      const again = pool.placement();
      assert.ok(
        again[slotA.index]!.rooms.includes(RoomId(ann2.roomId)),
        'room A went to the restarted (least loaded) worker',
      );
      assert.equal((await server.sfu.dump()).rooms.length, 2);

      for (const p of people) p.leave();
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });
});
