import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { eventually, launchDemoBrowser, openDemo, tiles } from './demo-page.ts';
import {
  iceStates,
  idsOf,
  openPlayer as openPlayerAt,
  playback,
  playerPatches,
  plays,
  remoteUfrag,
  restartWhep,
  startWhep,
  stopPlayer,
  trickleStatus,
  viewerToken,
} from './whep-player.ts';

/**
 * WHEP playback with a player nobody on the project wrote: medooze's WHEPClient (the `whip-whep`
 * devDependency) in a second Chromium page watches a demo-page participant (whep-player.ts); a
 * player that is playing restarts ICE over PATCH as a WHEP client does. The consent timeout is
 * short: a vanished player ends soon, and a restarted one keeps playing past it (the server
 * answers the consent checks of the new ICE session; the old credentials stop working).
 */

/** Short enough for a test, long enough for Chromium's checks (every ≈2.5 s on a stable pair). */
const CONSENT_TIMEOUT_MS = 6000;

/** Opus bytes per packet above which the player receives sound (a beep ≈ 60, silence ≈ 3). */
const AUDIBLE_BYTES_PER_PACKET = 20;

let server: TestServer;
let chromium: Awaited<ReturnType<typeof launchDemoBrowser>>;
const contexts: BrowserContext[] = [];

async function newContext(): Promise<BrowserContext> {
  const c = await chromium.newContext();
  contexts.push(c);
  return c;
}

const openPlayer = (context: BrowserContext) => openPlayerAt(context, server.baseUrl);

/** The player DELETEs its session (WHEPClient.stop()): the SFU keeps no subscription. */
async function stopWatching(player: Page): Promise<void> {
  await stopPlayer(player);
  await eventually(
    () => server.sfu.dump(),
    (d) => d.rooms.every((r) => r.subscriptions === 0),
    'no subscription left after DELETE',
    10_000,
  );
}

/** `name` is the only active speaker the demo page shows. */
function speaking(page: Page, name: string) {
  return eventually(
    () => tiles(page),
    (all) =>
      all
        .filter((t) => t.speaking)
        .map((t) => t.name)
        .join() === name,
    `${name} the active speaker`,
    20_000,
  );
}

/**
 * Opus bytes per audio packet the player received over one second: a beeping microphone takes
 * tens of bytes a packet, a muted one (silence, Opus VBR) a few.
 */
async function audioBytesPerPacket(page: Page): Promise<number> {
  const counters = () =>
    page.evaluate(async () => {
      const out = { bytes: 0, packets: 0 };
      const stats = await (window as unknown as { whep: { pc: RTCPeerConnection } }).whep.pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
        out.bytes += s.bytesReceived ?? 0;
        out.packets += s.packetsReceived ?? 0;
      });
      return out;
    });
  const before = await counters();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await counters();
  return (after.bytes - before.bytes) / Math.max(1, after.packets - before.packets);
}

/** The player receives a beeping microphone (a muted one sends silence). */
async function hears(page: Page, what: string): Promise<void> {
  // A failure shows the last figure (eventually's message).
  await eventually(
    () => audioBytesPerPacket(page),
    (bytes) => bytes > AUDIBLE_BYTES_PER_PACKET,
    `${what} (Opus bytes per packet)`,
    20_000,
  );
}

describe('WHEP playback in Chromium with medooze WHEPClient', { timeout: 240_000 }, () => {
  before(async () => {
    server = await startTestServer({ ICE_CONSENT_TIMEOUT_MS: String(CONSENT_TIMEOUT_MS) }, { media: true });
    chromium = await launchDemoBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await chromium?.close();
    await server?.close();
  });

  it("a player watches a participant's camera and microphone; DELETE ends it, so do a vanished player's consent timeout and the target leaving", async () => {
    const publisherContext = await newContext();
    const alice = await openDemo(publisherContext, server.baseUrl, {
      room: 'whep-room',
      name: 'Alice',
      // 360p: Chromium sends two simulcast layers (160x90, 320x180); at 180p only the lowest.
      res: 360,
    });
    const ids = await idsOf(alice);
    const token = await viewerToken(server.baseUrl, 'whep-room', 'whep-viewer');
    const url = `${server.baseUrl}/whep/rooms/${ids.roomId}/participants/${ids.participantId}`;

    const player = await openPlayer(await newContext());
    const resource = await startWhep(player, url, token);
    assert.match(resource, /\/whep\/sessions\/[A-Za-z0-9_-]{22}$/);
    await plays(player);
    // Simulcast: the viewer starts on the low layer; its transport-cc estimate lifts it higher.
    await eventually(
      () => playback(player),
      (p) => p.width >= 320,
      'a higher simulcast layer',
      30_000,
    );
    const during = await server.sfu.dump();
    assert.equal(during.rooms[0]?.subscriptions, 1, 'the viewer is one subscription');
    assert.deepEqual(
      during.rooms[0]?.participants.filter((p) => !p.startsWith('whep-')),
      [ids.participantId],
    );

    await stopPlayer(player);
    await eventually(
      () => server.sfu.dump(),
      (d) => d.rooms.length === 1 && d.rooms[0]!.subscriptions === 0 && d.rooms[0]!.downTracks === 0,
      'no subscription left after DELETE',
      10_000,
    );
    assert.equal((await fetch(resource, { method: 'DELETE' })).status, 404, 'the session is gone');

    // A player that vanishes (its page closed, no DELETE) is ended by ICE consent freshness.
    const lostContext = await newContext();
    const lost = await openPlayer(lostContext);
    const lostResource = await startWhep(lost, url, token);
    await plays(lost);
    await lostContext.close();
    await eventually(
      () => trickleStatus(lostResource),
      (status) => status === 404,
      'the session ended by the consent timeout',
      CONSENT_TIMEOUT_MS + 10_000,
    );
    assert.equal((await server.sfu.dump()).rooms[0]?.subscriptions, 0);

    // A second viewing ends when Alice leaves: its resource is gone, and a new POST is refused.
    const second = await startWhep(player, url, token);
    await plays(player);
    await publisherContext.close();
    await eventually(
      () => fetch(second, { method: 'DELETE' }).then((r) => r.status),
      (status) => status === 404,
      'the session ended with its target',
      20_000,
    );
    await eventually(
      () => server.sfu.dump(),
      (d) => d.rooms.length === 0 && d.transports === 0,
      'nothing left in the SFU',
      20_000,
    );
    const again = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: readFileSync(new URL('../fixtures/sdp/whep-chromium-recvonly.sdp', import.meta.url), 'utf8'),
    });
    assert.equal(again.status, 404);
  });

  it('POST /whep/rooms/:roomId follows the active speaker: sound and picture switch with the speaker, and move on when the watched one leaves', async () => {
    // Chromium's fake microphone beeps; a muted one sends silence: what the player hears tells
    // whom it receives (the picture comes in the same switch).
    const alice = await openDemo(await newContext(), server.baseUrl, { room: 'whep-follow', name: 'Alice' });
    const bobContext = await newContext();
    const bob = await openDemo(bobContext, server.baseUrl, { room: 'whep-follow', name: 'Bob' });
    await bob.click('#mic');
    await speaking(alice, 'Alice');
    const { roomId } = await idsOf(alice);
    const token = await viewerToken(server.baseUrl, 'whep-follow', 'whep-follower');
    const player = await openPlayer(await newContext());
    const resource = await startWhep(player, `${server.baseUrl}/whep/rooms/${roomId}`, token);
    await plays(player);
    await hears(player, 'Alice beeping');

    // Alice mutes, Bob speaks: the player hears Bob (it would hear Alice's silence otherwise).
    await alice.click('#mic');
    await bob.click('#mic');
    await speaking(alice, 'Bob');
    await hears(player, 'Bob beeping after the switch');
    await plays(player);

    // Bob leaves: the player moves to Alice (muted, then speaking again).
    await bobContext.close();
    await alice.click('#mic');
    await hears(player, 'Alice again once Bob left');
    await plays(player);
    assert.equal(await trickleStatus(resource), 204, 'the session lives on');
    await stopWatching(player);
  });

  it('a playing player restarts ICE twice: 200 with new credentials and ETag each time, and it keeps decoding, connected', async () => {
    const alice = await openDemo(await newContext(), server.baseUrl, { room: 'whep-restart', name: 'Alice' });
    const ids = await idsOf(alice);
    const token = await viewerToken(server.baseUrl, 'whep-restart', 'whep-restarter');
    const url = `${server.baseUrl}/whep/rooms/${ids.roomId}/participants/${ids.participantId}`;
    const player = await openPlayer(await newContext());
    const resource = await startWhep(player, url, token);
    await plays(player);

    const etags: string[] = [];
    let serverUfrag = await remoteUfrag(player);
    for (let round = 1; round <= 2; round++) {
      const before = await playback(player);
      const statesBefore = (await iceStates(player)).length;
      const restart = await restartWhep(player);
      assert.equal(restart.status, 200, `restart ${round}: ${restart.fragment}`);
      assert.equal(restart.type, 'application/trickle-ice-sdpfrag');
      assert.match(restart.etag ?? '', new RegExp(`-${round}"$`));
      assert.ok(!etags.includes(restart.etag!), 'a new ETag');
      etags.push(restart.etag!);
      assert.ok(restart.serverUfrag, `the answer fragment has our ufrag: ${restart.fragment}`);
      assert.notEqual(restart.serverUfrag, serverUfrag, 'new server credentials');
      assert.equal(restart.remoteUfrag, restart.serverUfrag, 'the player took them');
      assert.match(restart.fragment, /^a=candidate:/m);
      serverUfrag = restart.serverUfrag;

      // A candidate pair of the new ICE session is selected: Chromium nominates one only once we
      // answered its checks made with the new credentials (with the old ones it keeps the old
      // pair, and media flows on it). Connected (it may stay so throughout), and decoding on.
      const after = await eventually(
        () => playback(player),
        (p) =>
          p.pairChanges > before.pairChanges &&
          (p.ice === 'connected' || p.ice === 'completed') &&
          p.framesDecoded > before.framesDecoded + 30 &&
          p.audioPackets > before.audioPackets + 50,
        `a new ICE session selected and frames decoded after restart ${round}`,
        20_000,
      );
      if (after.localUfrag !== undefined) assert.equal(after.localUfrag, restart.ufrag);
      assert.equal(after.state, 'connected');
      const states = (await iceStates(player)).slice(statesBefore);
      assert.ok(!states.includes('failed') && !states.includes('closed'), `ICE states: ${states.join()}`);
    }

    // Past the consent timeout: the server has been answering the checks of the new ICE session.
    const settled = await playback(player);
    await new Promise((resolve) => setTimeout(resolve, CONSENT_TIMEOUT_MS + 3000));
    const later = await playback(player);
    assert.ok(
      later.framesDecoded > settled.framesDecoded + 60,
      `${settled.framesDecoded} -> ${later.framesDecoded}`,
    );
    assert.ok(later.ice === 'connected' || later.ice === 'completed', later.ice);

    // The session: trickle with the current ETag 204, an earlier one 412; the player's own
    // trickles after each restart carried the new credentials (none refused).
    assert.equal(await trickleStatus(resource, { 'if-match': etags[1]! }), 204);
    assert.equal(await trickleStatus(resource, { 'if-match': etags[0]! }), 412);
    const patches = await playerPatches(player);
    assert.deepEqual(
      patches.filter((p) => p.status !== 200 && p.status !== 204),
      [],
      'every PATCH of the player was taken',
    );
    assert.equal(patches.filter((p) => p.status === 200).length, 2);

    await stopWatching(player);
  });
});
