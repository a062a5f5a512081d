/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'puppeteer-core';
import { RoomId } from '../../src/lib/ids.ts';
import { BrowserParticipant, ChromiumParticipant, waitFor } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Firefox, launchFirefox } from '../support/firefox.ts';
import { createLoopbackCap, deliveredOverLoopback, type LoopbackCap } from '../support/loopback-cap.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import { activeLayerWidths, waitForSentLayers } from '../support/sent-layers.ts';
import type { TestServer } from '../support/server.ts';

/**
 * The UDP port of the local candidate Firefox's connection receiving `targetId` selected: where
 * the server sends that participant's media.
 */
async function selectedLocalPort(p: BrowserParticipant<Page>, targetId: string): Promise<number> {
  const found = await p.page.evaluate(async (targetId) => {
    const pc = (window as unknown as { subs: Record<string, RTCPeerConnection> }).subs[targetId]!;
    const stats = await pc.getStats();
    let port = 0;
    let address = '';
    stats.forEach((s) => {
      // Firefox marks the pair in use `selected` (its own field), besides `nominated`.
      if (s.type !== 'candidate-pair' || s.state !== 'succeeded' || !(s.selected ?? s.nominated)) return;
      const local = stats.get(s.localCandidateId);
      port = local?.port ?? 0;
      address = local?.address ?? '';
    });
    return { port, address };
  }, targetId);
  if (!found.port) throw new Error('Firefox has no selected candidate pair');
  // The cap shapes `lo`: a candidate that is not an address of this host would leave Firefox uncapped.
  if (!deliveredOverLoopback(found.address))
    throw new Error(`Firefox's selected candidate is not on this host: ${found.address}:${found.port}`);
  return found.port;
}

/**
 * A Chromium publisher sending simulcast (q/h/f), a Chromium subscriber and a Firefox subscriber on
 * loopback; Firefox's downlink is capped on `lo` (test/support/loopback-cap.ts: its selected
 * candidate's UDP port only). Firefox's answer negotiates transport-cc and REMB and it sends
 * transport-cc feedback, from which the SFU's send-side estimator must move it to a lower layer
 * while the other subscriber keeps the top one. Needs root and tc: fails, saying what is missing,
 * where they are not.
 */
describe('Firefox receives a lower simulcast layer when its bandwidth is capped', {
  timeout: 300_000,
}, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let firefox: Firefox;
  let lo: LoopbackCap;
  const users: TestUser[] = [];

  before(async () => {
    lo = createLoopbackCap();
    ({ server, call, chromium } = await startMediaSuite());
    firefox = await launchFirefox();
    for (const name of ['pub', 'free', 'fox']) users.push(await login(call, `foxcap-${name}`, name));
  });
  after(async () => {
    await lo?.uncap();
    await firefox?.close();
    await stopMediaSuite(server, chromium);
  });

  it('capped at 300 kbit/s, Firefox gets the lowest layer while Chromium keeps the top one; uncapped it returns to the top', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Firefox capped');
    const context = await chromium.newContext();
    const people: Array<BrowserParticipant<Page> | ChromiumParticipant> = [];
    try {
      const pub = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[0]!.token,
        context,
        roomId,
        participantId: pids[0]!,
        simulcast: true,
        width: 1280,
      });
      people.push(pub);
      // Only the publisher's stream: the others' cameras would share the capped link.
      const free = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[1]!.token,
        context,
        roomId,
        participantId: pids[1]!,
        autoSubscribe: false,
      });
      people.push(free);
      const fox = await BrowserParticipant.join<Page>({
        baseUrl: server.baseUrl,
        token: users[2]!.token,
        context: firefox,
        roomId,
        participantId: pids[2]!,
        autoSubscribe: false,
      });
      people.push(fox);
      await free.subscribe(pub.participantId);
      await fox.subscribe(pub.participantId);

      /**
       * What is seen now: the layer the SFU forwards to each subscriber, their decoders, and the
       * publisher's measured rate of what is forwarded to Firefox (its layer and the audio).
       */
      const look = async () => {
        const room = await server.sfu.inspectRoom(RoomId(roomId));
        const video = room.participants
          .find((p) => p.participantId === pub.participantId)
          ?.tracks.find((t) => t.kind === 'video');
        const spatial = (pid: string) => video?.subscribers.find((s) => s.participantId === pid)?.spatial;
        const atFox = await fox.statsFrom(pub.participantId);
        const atFree = await free.statsFrom(pub.participantId);
        return {
          layersSeen: video?.layers ?? 0,
          fox: spatial(fox.participantId),
          free: spatial(free.participantId),
          foxWidth: atFox?.frameWidth ?? 0,
          foxFrames: atFox?.framesDecoded ?? 0,
          freeWidth: atFree?.frameWidth ?? 0,
          foxForwardedKbps: Math.round(
            (room.participants.find((p) => p.participantId === fox.participantId)?.bitrateOutBps ?? 0) / 1000,
          ),
        };
      };

      const layers = await waitForSentLayers(pub);
      const low = layers[0]!;
      const top = layers.at(-1)!;
      const first = await waitFor(
        look,
        (s) => s.foxFrames > 30 && s.foxWidth === top && s.freeWidth === top,
        `both subscribers decoding the top layer (${top} wide)`,
        30_000,
      );
      const port = await selectedLocalPort(fox, pub.participantId);

      const cappedAt = Date.now();
      await lo.cap(port, 300);
      const down = await waitFor(
        look,
        (s) => s.fox === 0 && s.foxWidth === low,
        `Firefox on the lowest layer (${low} wide) after the cap`,
        20_000,
      );
      const downMs = Date.now() - cappedAt;
      // Held there, still decoding, while the other subscriber keeps the top layer being sent.
      await new Promise((r) => setTimeout(r, 6000));
      const held = await look();
      const sentTop = (await activeLayerWidths(pub)).at(-1);
      const shaped = await lo.counters();
      const feedback = await fox.page.evaluate((targetId) => {
        const pc = (window as unknown as { subs: Record<string, RTCPeerConnection> }).subs[targetId]!;
        const sdp = pc.localDescription?.sdp ?? '';
        return ['transport-cc', 'goog-remb'].filter((f) => new RegExp(`^a=rtcp-fb:\\S+ ${f}`, 'm').test(sdp));
      }, pub.participantId);
      console.log(
        `firefox cap: layers ${layers.join('/')}, port ${port}, Firefox's answer has ${feedback.join(' and ') || 'no bandwidth feedback'}; ` +
          `before ${JSON.stringify(first)}; down in ${downMs} ms: ${JSON.stringify(down)}; 6 s later: ${JSON.stringify(held)}, ` +
          `top sent ${sentTop}; the capped class let ${shaped.sentPackets} packets through, dropped ${shaped.droppedPackets}`,
      );
      assert.ok(shaped.sentPackets > 100, 'the cap shaped Firefox’s media');
      assert.equal(held.fox, 0, 'the SFU keeps forwarding the lowest layer to Firefox');
      assert.equal(held.foxWidth, low, 'Firefox stays on the lowest layer');
      assert.ok(
        held.foxFrames > down.foxFrames + 30,
        `Firefox goes on decoding (${down.foxFrames} → ${held.foxFrames})`,
      );
      await waitFor(
        async () => [(await activeLayerWidths(pub)).at(-1), (await look()).freeWidth],
        ([sent, got]) => sent !== undefined && sent === got,
        'the Chromium subscriber on the top layer being sent',
        5000,
      );

      const uncappedAt = Date.now();
      await lo.uncap();
      const up = await waitFor(
        async () => ({ sent: (await activeLayerWidths(pub)).at(-1), ...(await look()) }),
        (s) => s.sent !== undefined && s.sent > low && s.foxWidth === s.sent && (s.fox ?? 0) > 0,
        'Firefox back on the top layer being sent after the cap is lifted',
        40_000,
      );
      console.log(`firefox cap: back up in ${Date.now() - uncappedAt} ms: ${JSON.stringify(up)}`);
      assert.ok(up.fox! > 0, 'Firefox left the lowest layer');
    } finally {
      await lo.uncap().catch(() => undefined);
      for (const p of people) await p.close().catch(() => undefined);
      await context.close();
    }
  });
});
