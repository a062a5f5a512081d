/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { createImpairedNetwork, type ImpairedNetwork, launchChromiumIn } from '../support/impairment.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { eventually, launchDemoBrowser, openDemo, seesVideoOf, tiles } from './demo-page.ts';

const run = promisify(execFile);

/**
 * Media reconnection with the socket up: Alice's Chromium runs in a network namespace
 * (test/support/impairment.ts). For ~4 s every UDP packet it receives and sends is dropped, and
 * its TCP to the media worker's ICE-TCP port (an nftables table of this test in the namespace,
 * input and output hooks: the harness' `loss` stops below 100 % and only drops what comes in) —
 * media and ICE, not the socket.io TCP connection. Afterwards Bob sees her video again, she is the same participant, nobody got a
 * `room.participant_left`, and her room never went through the socket path (no `room.reconnect`
 * rejoin). After ~4 s Chromium's ICE usually comes back by itself (it calls the connection
 * `disconnected` ~5 s into a cut, so the SDK's 2 s wait has not run out); a 10 s cut makes the SDK
 * restart ICE, which the second case checks.
 */
describe('demo page: media path cut with the socket up', { timeout: 240_000 }, () => {
  let net: ImpairedNetwork;
  let server: TestServer;
  let local: Awaited<ReturnType<typeof launchDemoBrowser>>;
  let impaired: Awaited<ReturnType<typeof launchChromiumIn>>;
  let impairedBaseUrl: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    net = await createImpairedNetwork();
    server = await startTestServer({ APP_HOST: '0.0.0.0' }, { media: true });
    impairedBaseUrl = `http://${net.hostIp}:${new URL(server.baseUrl).port}`;
    local = await launchDemoBrowser();
    impaired = await launchChromiumIn(net, impairedBaseUrl);
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await impaired?.close();
    await local?.close();
    await server?.close();
    await net?.close();
  });

  const nsNft = (...args: string[]) => run('ip', ['netns', 'exec', net.namespace, 'nft', ...args]);

  /** Records the room's events in the page (window.__events). */
  const record = (page: Page) =>
    page.evaluate(() => {
      const w = window as unknown as {
        bbmeet: { room: { on(type: string, handler: (e: unknown) => void): void } };
        __events: Array<{ type: string; payload: unknown; at: number }>;
      };
      w.__events = [];
      for (const type of [
        'reconnecting',
        'reconnected',
        'stateChanged',
        'participantLeft',
        'participantJoined',
      ])
        w.bbmeet.room.on(type, (payload) =>
          w.__events.push({
            type,
            payload: JSON.parse(
              JSON.stringify(payload, (k, v) => (k === 'state' && typeof v === 'object' ? undefined : v)),
            ),
            at: Date.now(),
          }),
        );
    });
  const events = (page: Page) =>
    page.evaluate(
      () =>
        (window as unknown as { __events: Array<{ type: string; payload: unknown; at: number }> }).__events,
    );
  const localId = (page: Page) =>
    page.evaluate(
      () =>
        (window as unknown as { bbmeet: { room: { localParticipant: { id: string } | null } } }).bbmeet.room
          .localParticipant?.id ?? null,
    );
  /** Frames decoded of Alice's camera tile at Bob's. */
  const framesOfAlice = (page: Page) =>
    page.$$eval('#grid .tile', (els) => {
      const tile = els.find(
        (el) =>
          (el as HTMLElement).dataset.name === 'Alice' &&
          (el as HTMLElement).dataset.source === 'camera' &&
          (el as HTMLElement).dataset.local !== 'true',
      );
      const video = tile?.querySelector('video');
      return video ? video.getVideoPlaybackQuality().totalVideoFrames : -1;
    });

  /**
   * Cuts Alice's media path (UDP, and TCP to the ICE-TCP port) for `cutMs`, restores it, checks that her video comes back at Bob's without
   * a rejoin; Alice's reconnecting/reconnected events.
   */
  async function cutAndResume(room: string, cutMs: number) {
    const bobContext = await local.newContext();
    const aliceContext = await impaired.newContext();
    contexts.push(bobContext, aliceContext);
    const bob = await openDemo(bobContext, server.baseUrl, { room, name: 'Bob' });
    const alice = await openDemo(aliceContext, impairedBaseUrl, { room, name: 'Alice' });
    await seesVideoOf(bob, ['Alice']);
    await seesVideoOf(alice, ['Bob']);
    await record(alice);
    await record(bob);
    const aliceId = await localId(alice);
    const aliceTile = (await tiles(bob)).find((t) => t.name === 'Alice' && t.source === 'camera');
    assert.equal(aliceTile?.participant, aliceId);

    const cutAt = Date.now();
    await nsNft('add', 'table', 'inet', 'bbmeet_cut');
    for (const hook of ['input', 'output']) {
      await nsNft('add', 'chain', 'inet', 'bbmeet_cut', hook, `{ type filter hook ${hook} priority 0 ; }`);
      await nsNft('add', 'rule', 'inet', 'bbmeet_cut', hook, 'meta', 'l4proto', 'udp', 'drop');
      // The media worker also takes ICE over TCP on the same port number: cut that path too (the
      // signalling socket, on the HTTP port, stays up).
      for (const side of ['dport', 'sport'])
        await nsNft('add', 'rule', 'inet', 'bbmeet_cut', hook, 'tcp', side, String(server.mediaPort), 'drop');
    }
    let restoredAt = 0;
    let framesCut: [number, number] = [0, 0];
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const frozenFrom = await framesOfAlice(bob);
      await new Promise((resolve) => setTimeout(resolve, cutMs - 1000));
      framesCut = [frozenFrom, await framesOfAlice(bob)];
    } finally {
      await nsNft('delete', 'table', 'inet', 'bbmeet_cut').catch(() => undefined);
      restoredAt = Date.now();
    }
    // The cut did cut the media: Alice's video froze at Bob's (a frame or two in flight at most).
    assert.ok(framesCut[1] - framesCut[0] <= 3, `frames during the cut: ${framesCut.join(' → ')}`);
    // ...and it comes back.
    await eventually(
      () => framesOfAlice(bob),
      (n) => n > framesCut[1] + 1,
      "Alice's video decoding again at Bob's (first frames)",
      25_000,
    );
    const firstFramesAt = Date.now();
    await eventually(
      () => framesOfAlice(bob),
      (n) => n > framesCut[1] + 30,
      "Alice's video decoding again at Bob's",
      25_000,
    );
    await seesVideoOf(bob, ['Alice']);
    await seesVideoOf(alice, ['Bob']);

    const aliceEvents = await events(alice);
    const bobEvents = await events(bob);
    console.log(
      `cut ${restoredAt - cutAt} ms; first frames ~${firstFramesAt - restoredAt} ms after; Alice:`,
      JSON.stringify(aliceEvents.map((e) => ({ ...e, at: e.at - cutAt }))),
    );
    assert.equal(await localId(alice), aliceId, "Alice's participant id is unchanged");
    assert.deepEqual(
      bobEvents.filter((e) => e.type === 'participantLeft' || e.type === 'participantJoined'),
      [],
      'Bob saw nobody leave or join',
    );
    assert.deepEqual(
      aliceEvents.filter((e) => e.type === 'stateChanged'),
      [],
      'Alice stayed joined: no socket-path reconnection',
    );
    const reconnected = aliceEvents.filter((e) => e.type === 'reconnected');
    for (const e of reconnected)
      assert.deepEqual(e.payload, { participantId: aliceId, rejoined: false, iceRestart: true });
    assert.equal(
      (await tiles(bob)).find((t) => t.name === 'Alice' && t.source === 'camera')?.participant,
      aliceId,
    );
    await bobContext.close();
    await aliceContext.close();
    return aliceEvents;
  }

  it('a ~4 s cut: video resumes at the other participant without a rejoin (same id, no participant_left)', async () => {
    await cutAndResume('ice-cut-4s', 4000);
  });

  it('a 10 s cut: the SDK restarts ICE (reconnecting ice → reconnected iceRestart), same participant', async () => {
    // Chromium calls the publisher `disconnected` some 5 s into the cut; the SDK restarts ICE 2 s later.
    const events = await cutAndResume('ice-cut-10s', 10_000);
    assert.deepEqual(
      events.filter((e) => e.type === 'reconnecting').map((e) => e.payload),
      [{ reason: 'ice' }],
    );
    assert.equal(events.filter((e) => e.type === 'reconnected').length, 1);
  });
});
