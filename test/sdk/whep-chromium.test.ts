import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { API_KEY, startTestServer, type TestServer } from '../support/server.ts';
import { eventually, launchDemoBrowser, openDemo, tiles } from './demo-page.ts';

/**
 * WHEP playback with a player nobody on the project wrote: medooze's WHEPClient (the `whip-whep`
 * devDependency) in a second Chromium page watches a demo-page participant. Its page and the
 * client are served at the server's origin by a Playwright route (so the WHEP URLs are same-origin).
 */

const WHEP_JS = readFileSync(createRequire(import.meta.url).resolve('whip-whep/whep.js'), 'utf8');
const PLAYER_HTML = `<!doctype html>
<html><body><video id="v" autoplay muted playsinline></video>
<script type="module">
import { WHEPClient } from './whep.js';
window.startWhep = async (url, token) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    document.getElementById('v').srcObject = stream;
  };
  const client = new WHEPClient();
  await client.view(pc, url, token);
  window.whep = { pc, client, resource: String(client.resourceURL) };
  return window.whep.resource;
};
window.playback = async () => {
  const v = document.getElementById('v');
  let audioPackets = 0;
  const stats = await window.whep.pc.getStats();
  stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPackets += s.packetsReceived; });
  return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, audioPackets, state: window.whep.pc.connectionState };
};
window.ready = true;
</script></body></html>`;

interface Playback {
  frames: number;
  width: number;
  audioPackets: number;
  state: string;
}

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

/** The room id and participant id of a demo page in its call. */
function idsOf(page: Page): Promise<{ roomId: string; participantId: string }> {
  return page.evaluate(() => {
    const { room } = (
      window as unknown as { bbmeet: { room: { roomId: string; localParticipant: { id: string } } } }
    ).bbmeet;
    return { roomId: room.roomId, participantId: room.localParticipant.id };
  });
}

/** A viewer's access token: a user who opened the room by its code (no password: allowed in). */
async function viewerToken(code: string, externalId: string): Promise<string> {
  const viewer = await rest('/auth', { method: 'POST', body: { fullName: 'Viewer', externalId } });
  const token = String(viewer.token);
  await rest(`/rooms/${code}`, { token });
  return token;
}

async function rest(path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const res = await fetch(`${server.baseUrl}/busapi/v3${path}`, {
    method: init.method ?? 'GET',
    headers: {
      'x-api-key': API_KEY,
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function openPlayer(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.route(`${server.baseUrl}/whep-player/**`, (route) => {
    const js = route.request().url().endsWith('.js');
    return route.fulfill({
      contentType: js ? 'text/javascript' : 'text/html',
      body: js ? WHEP_JS : PLAYER_HTML,
    });
  });
  await page.goto(`${server.baseUrl}/whep-player/index.html`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return page;
}

/** Starts WHEPClient.view() in the player page; resolves with the session's resource URL. */
const startWhep = (page: Page, url: string, token: string) =>
  page.evaluate(
    ([u, t]) => (window as unknown as { startWhep(u: string, t: string): Promise<string> }).startWhep(u!, t!),
    [url, token],
  );

const playback = (page: Page) =>
  page.evaluate(() => (window as unknown as { playback(): Promise<Playback> }).playback());

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

/** Frames decoded and advancing, audio packets arriving. */
async function plays(page: Page): Promise<void> {
  const first = await eventually(
    () => playback(page),
    (p) => p.frames > 0 && p.width > 0 && p.audioPackets > 0,
    'WHEP video decoded and audio received',
    30_000,
  );
  await eventually(
    () => playback(page),
    (p) => p.frames > first.frames + 10 && p.audioPackets > first.audioPackets + 10,
    'WHEP frames and audio advancing',
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
    const token = await viewerToken('whep-room', 'whep-viewer');
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

    await player.evaluate(() =>
      (window as unknown as { whep: { client: { stop(): Promise<void> } } }).whep.client.stop(),
    );
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
      () =>
        fetch(lostResource, {
          method: 'PATCH',
          headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
          body: 'a=end-of-candidates\r\n',
        }).then((r) => r.status),
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
    const token = await viewerToken('whep-follow', 'whep-follower');
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
    const patch = await fetch(resource, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
      body: 'a=end-of-candidates\r\n',
    });
    assert.equal(patch.status, 204, 'the session lives on');
    await player.evaluate(() =>
      (window as unknown as { whep: { client: { stop(): Promise<void> } } }).whep.client.stop(),
    );
    await eventually(
      () => server.sfu.dump(),
      (d) => d.rooms.every((r) => r.subscriptions === 0),
      'no subscription left after DELETE',
      10_000,
    );
  });
});
