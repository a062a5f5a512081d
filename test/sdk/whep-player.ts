import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BrowserContext, Page } from 'playwright-core';
import { API_KEY } from '../support/server.ts';
import { eventually } from './demo-page.ts';

/**
 * A WHEP player page for the Chromium tests: medooze's WHEPClient (the `whip-whep`
 * devDependency, a client nobody on the project wrote) in a page served at the server's origin by
 * a Playwright route (so the WHEP URLs are same-origin), and the server-side steps to watch a
 * demo-page participant (ids, a viewer's token).
 */

const WHEP_JS = readFileSync(createRequire(import.meta.url).resolve('whip-whep/whep.js'), 'utf8');

/**
 * `restartWhep()` restarts ICE as a WHEP client does (draft-ietf-wish-whep, RFC 9725 §4.3.2):
 * `pc.restartIce()`, the new offer's credentials PATCHed with `If-Match: *`, and the answer
 * fragment's credentials and candidates put into the remote description. (WHEPClient.restart()
 * does the same, but joins several candidates with a comma, which breaks the description when
 * the server has more than one: UDP and ICE-TCP here.) The client's own trickles then carry the
 * new credentials and ETag.
 */
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
  const iceStates = [];
  pc.addEventListener('iceconnectionstatechange', () => iceStates.push(pc.iceConnectionState));
  const client = new WHEPClient();
  await client.view(pc, url, token);
  window.whep = { pc, client, resource: String(client.resourceURL), iceStates };
  return window.whep.resource;
};
window.playback = async () => {
  const v = document.getElementById('v');
  let audioPackets = 0;
  let framesDecoded = 0;
  const stats = await window.whep.pc.getStats();
  let transport = {};
  stats.forEach((s) => {
    if (s.type === 'transport') transport = s;
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'audio') audioPackets += s.packetsReceived;
    else framesDecoded += s.framesDecoded ?? 0;
  });
  return {
    frames: v.getVideoPlaybackQuality().totalVideoFrames, framesDecoded, width: v.videoWidth, audioPackets,
    state: window.whep.pc.connectionState, ice: window.whep.pc.iceConnectionState,
    pairChanges: transport.selectedCandidatePairChanges, localUfrag: transport.iceLocalUsernameFragment,
  };
};
// Every PATCH of the page (the client's trickles, the restart) and its status.
window.patches = [];
const pageFetch = window.fetch;
window.fetch = async (url, init) => {
  const res = await pageFetch(url, init);
  if (init?.method === 'PATCH') window.patches.push({ status: res.status, ifMatch: init.headers['if-match'] ?? init.headers['If-Match'] ?? null, body: init.body });
  return res;
};
window.restartWhep = async () => {
  const { pc, client, resource } = window.whep;
  const line = (sdp, name) => sdp.match(new RegExp('^a=' + name + ':(.*)\\\\r$', 'm'))?.[1];
  // The client holds its trickles back meanwhile, and sends them with the new credentials after.
  client.restartIce = new Date();
  client.iceTrickeTimeout = clearTimeout(client.iceTrickeTimeout);
  client.candidates = [];
  client.endOfcandidates = false;
  pc.restartIce();
  const offer = await pc.createOffer({ iceRestart: true });
  const ufrag = line(offer.sdp, 'ice-ufrag');
  const pwd = line(offer.sdp, 'ice-pwd');
  client.iceUsername = ufrag;
  client.icePassword = pwd;
  await pc.setLocalDescription(offer);
  const res = await fetch(resource, {
    method: 'PATCH',
    headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' },
    body: 'a=ice-ufrag:' + ufrag + '\\r\\na=ice-pwd:' + pwd + '\\r\\n',
  });
  const fragment = await res.text();
  const out = { status: res.status, etag: res.headers.get('etag'), type: res.headers.get('content-type'), fragment, ufrag, serverUfrag: line(fragment, 'ice-ufrag') };
  if (res.status === 200) {
    const candidates = [...fragment.matchAll(/^a=candidate:.*\\r\\n/gm)].map((m) => m[0]).join('');
    const sdp = pc.remoteDescription.sdp
      .replace(/^a=ice-ufrag:.*\\r\\n/gm, 'a=ice-ufrag:' + out.serverUfrag + '\\r\\n')
      .replace(/^a=ice-pwd:.*\\r\\n/gm, 'a=ice-pwd:' + line(fragment, 'ice-pwd') + '\\r\\n')
      .replace(/^a=(candidate:.*|end-of-candidates)\\r\\n/gm, '')
      .replace(/^(a=mid:.*\\r\\n)/gm, '$1' + candidates + 'a=end-of-candidates\\r\\n');
    await pc.setRemoteDescription({ type: 'answer', sdp });
    out.remoteUfrag = line(pc.remoteDescription.sdp, 'ice-ufrag');
    client.etag = out.etag;
  }
  client.restartIce = null;
  await client.patch();
  return out;
};
window.ready = true;
</script></body></html>`;

export interface Playback {
  /** Frames the video element presented. */
  frames: number;
  /** The inbound video's framesDecoded (RTCInboundRtpStreamStats). */
  framesDecoded: number;
  width: number;
  audioPackets: number;
  state: string;
  ice: string;
  /** The transport's selectedCandidatePairChanges (RTCTransportStats). */
  pairChanges: number;
  /** The ufrag of the ICE session in use (RTCTransportStats.iceLocalUsernameFragment). */
  localUfrag: string | undefined;
}

export interface IceRestart {
  status: number;
  etag: string | null;
  type: string | null;
  fragment: string;
  /** The player's new ufrag, as PATCHed. */
  ufrag: string;
  /** The server's new ufrag in the answer fragment, and in the remote description once applied. */
  serverUfrag: string | undefined;
  remoteUfrag?: string;
}

/** The room id and participant id of a demo page in its call. */
export function idsOf(page: Page): Promise<{ roomId: string; participantId: string }> {
  return page.evaluate(() => {
    const { room } = (
      window as unknown as { bbmeet: { room: { roomId: string; localParticipant: { id: string } } } }
    ).bbmeet;
    return { roomId: room.roomId, participantId: room.localParticipant.id };
  });
}

/** A viewer's access token: a user who opened the room by its code (no password: allowed in). */
export async function viewerToken(baseUrl: string, code: string, externalId: string): Promise<string> {
  const viewer = await rest(baseUrl, '/auth', { method: 'POST', body: { fullName: 'Viewer', externalId } });
  const token = String(viewer.token);
  await rest(baseUrl, `/rooms/${code}`, { token });
  return token;
}

async function rest(
  baseUrl: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseUrl}/busapi/v3${path}`, {
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

/** A player page at the server's origin, its script loaded. */
export async function openPlayer(context: BrowserContext, baseUrl: string): Promise<Page> {
  const page = await context.newPage();
  await page.route(`${baseUrl}/whep-player/**`, (route) => {
    const js = route.request().url().endsWith('.js');
    return route.fulfill({
      contentType: js ? 'text/javascript' : 'text/html',
      body: js ? WHEP_JS : PLAYER_HTML,
    });
  });
  await page.goto(`${baseUrl}/whep-player/index.html`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return page;
}

/** Starts WHEPClient.view() in the player page; resolves with the session's resource URL. */
export const startWhep = (page: Page, url: string, token: string): Promise<string> =>
  page.evaluate(
    ([u, t]) => (window as unknown as { startWhep(u: string, t: string): Promise<string> }).startWhep(u!, t!),
    [url, token],
  );

export const playback = (page: Page): Promise<Playback> =>
  page.evaluate(() => (window as unknown as { playback(): Promise<Playback> }).playback());

/** WHEPClient.stop(): the player DELETEs its session. */
export const stopPlayer = (page: Page): Promise<void> =>
  page.evaluate(() =>
    (window as unknown as { whep: { client: { stop(): Promise<void> } } }).whep.client.stop(),
  );

/** An ICE restart by the player (`restartWhep` above). */
export const restartWhep = (page: Page): Promise<IceRestart> =>
  page.evaluate(() => (window as unknown as { restartWhep(): Promise<IceRestart> }).restartWhep());

/** A PATCH the player page sent (its client's trickles, its restarts) and its status. */
export interface PlayerPatch {
  status: number;
  ifMatch: string | null;
  body: string;
}

export const playerPatches = (page: Page): Promise<PlayerPatch[]> =>
  page.evaluate(() => (window as unknown as { patches: PlayerPatch[] }).patches.slice());

/** The ICE ufrag of the player's remote description (the server's). */
export const remoteUfrag = (page: Page): Promise<string | undefined> =>
  page.evaluate(
    () =>
      /^a=ice-ufrag:(.*)\r$/m.exec(
        (window as unknown as { whep: { pc: RTCPeerConnection } }).whep.pc.remoteDescription!.sdp,
      )?.[1],
  );

/** The player's ICE connection states since it started. */
export const iceStates = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { whep: { iceStates: string[] } }).whep.iceStates.slice());

/** Frames decoded and advancing, audio packets arriving. */
export async function plays(page: Page): Promise<Playback> {
  const first = await eventually(
    () => playback(page),
    (p) => p.frames > 0 && p.width > 0 && p.audioPackets > 0,
    'WHEP video decoded and audio received',
    30_000,
  );
  return eventually(
    () => playback(page),
    (p) => p.frames > first.frames + 10 && p.audioPackets > first.audioPackets + 10,
    'WHEP frames and audio advancing',
    20_000,
  );
}

/** The session's resource answers a trickle PATCH with `status` (404 once the session ended). */
export function trickleStatus(resource: string, headers: Record<string, string> = {}): Promise<number> {
  return fetch(resource, {
    method: 'PATCH',
    headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers },
    body: 'a=end-of-candidates\r\n',
  }).then((r) => r.status);
}
