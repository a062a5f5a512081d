import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, nextEvent, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/**
 * AV1 through the SFU: a Chromium publisher that prefers AV1, a Chromium subscriber that decodes
 * it. The SFU forwards to a new subscriber from a keyframe on (the N bit of the AV1 aggregation
 * header) with the header extensions it maps, the dependency descriptor among them; with an SVC
 * publisher (L3T3_KEY) it drops the spatial layers above what the subscriber asks for, reading
 * them from that descriptor (docs/simulcast.md).
 */
describe('AV1 through the SFU with real Chromium peers', { timeout: 120_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let users: TestUser[];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    users = [await login(call, 'av1-alice', 'Alice'), await login(call, 'av1-bob', 'Bob')];
  });
  after(() => stopMediaSuite(server, chromium));

  it('Chromium publishes AV1, another Chromium subscribes and keeps decoding, nothing lost', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'AV1');
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      const bob = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[1]!.token,
        context,
        roomId,
        participantId: pids[1]!,
        codec: 'AV1',
      });
      people.push(bob);
      const announced = nextEvent<{ participant: { id: number } }>(
        bob.socket,
        'room.new_participant',
        20_000,
      );
      const alice = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[0]!.token,
        context,
        roomId,
        participantId: pids[0]!,
        codec: 'AV1',
      });
      people.push(alice);
      assert.equal((await announced).participant.id, Number(alice.participantId));

      const first = await waitFor(
        () => bob.statsFrom(alice.participantId),
        (s) => s !== undefined && s.framesDecoded > 0,
        'first decoded AV1 frame',
        30_000,
      );
      assert.equal(first!.codec.toUpperCase(), 'VIDEO/AV1', 'the subscriber decodes AV1');
      const later = await waitFor(
        () => bob.statsFrom(alice.participantId),
        (s) => s !== undefined && s.framesDecoded >= first!.framesDecoded + 30,
        'thirty more AV1 frames',
        30_000,
      );
      assert.equal(later!.videoPacketsLost, 0);
      assert.equal(later!.audioPacketsLost, 0);
      assert.ok(later!.audioPackets > 0, 'audio flows beside it');

      alice.leave();
      await waitFor(async () => bob.left.has(alice.participantId), Boolean, 'participant_left');
      bob.leave();
      await waitForEmptySfu(server.sfu, 5000);
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });

  it('AV1 SVC (L3T3_KEY): a subscriber asking for low quality gets the lowest spatial layer and keeps decoding; back to high, the upper layers', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'AV1 SVC');
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      const alice = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[0]!.token,
        context,
        roomId,
        participantId: pids[0]!,
        codec: 'AV1',
        scalabilityMode: 'L3T3_KEY',
        width: 1280,
        autoSubscribe: false,
      });
      people.push(alice);
      const bob = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[1]!.token,
        context,
        roomId,
        participantId: pids[1]!,
        codec: 'AV1',
        dataChannels: true,
        autoSubscribe: false,
      });
      people.push(bob);
      await bob.subscribe(alice.participantId);
      const top = await waitFor(
        () => bob.statsFrom(alice.participantId),
        (s) => s !== undefined && s.framesDecoded > 30 && s.frameWidth >= 640,
        'the upper spatial layers decoding',
        40_000,
      );
      const videoTrackId = await alice.page.evaluate(
        () =>
          (window as unknown as { pc: RTCPeerConnection }).pc
            .getSenders()
            .find((s) => s.track?.kind === 'video')!.track!.id,
      );
      const ask = async (quality: number) => {
        await waitFor(
          () =>
            bob.page.evaluate(
              (id) => (window as unknown as { subDc: Record<string, RTCDataChannel> }).subDc[id]?.readyState,
              alice.participantId,
            ),
          (s) => s === 'open',
          "bob's track_quality channel open",
        );
        await bob.page.evaluate(
          ({ id, msg }) =>
            (window as unknown as { subDc: Record<string, RTCDataChannel> }).subDc[id]!.send(
              new TextEncoder().encode(JSON.stringify(msg)),
            ),
          { id: alice.participantId, msg: { trackId: videoTrackId, quality } },
        );
      };
      const topFrom = (await bob.statsFrom(alice.participantId))!;
      await new Promise((r) => setTimeout(r, 5000));
      const topTo = (await bob.statsFrom(alice.participantId))!;
      console.log(
        `av1 svc: on the top layers ${topFrom.framesDecoded} → ${topTo.framesDecoded} frames in 5 s (${topTo.frameWidth} wide)`,
      );
      await ask(1);
      const low = await waitFor(
        () => bob.statsFrom(alice.participantId),
        // L3T3 of a 1280-wide camera: spatial layers 320, 640 and 1280 wide.
        (s) => s !== undefined && s.frameWidth > 0 && s.frameWidth <= 320,
        'the lowest spatial layer',
        20_000,
      );
      const encodedFrom = await alice.encoderStats();
      await new Promise((r) => setTimeout(r, 5000));
      const held = (await bob.statsFrom(alice.participantId))!;
      const encodedTo = await alice.encoderStats();
      // Chromium counts each spatial layer's frame of an SVC picture: L3T3 encodes 3 per picture.
      const encoded = Math.round((encodedTo.framesEncoded - encodedFrom.framesEncoded) / 3);
      const decoded = held.framesDecoded - low!.framesDecoded;
      // The publisher's frame rate is the machine's: an AV1 L3T3 encoder at 1280x720 beside two
      // Chromium pages on 2 cores drops to 10 fps when the CPU is busy (1 CI run in 11 decoded 50
      // frames in 5 s). What the server owes is forwarding every frame of the lowest layer the
      // publisher encodes (all temporal layers are asked for), so the subscriber's decoding is
      // held to the publisher's own count over the same 5 s.
      const load = `publisher encoded ${encoded} pictures in those 5 s (limited by: ${encodedTo.qualityLimitationReason})`;
      console.log(
        `av1 svc: top ${top!.frameWidth} wide, low ${low!.frameWidth}; 5 s later ${held.frameWidth} wide, frames ${low!.framesDecoded} → ${held.framesDecoded}; ${load}`,
      );
      assert.equal(held.frameWidth, low!.frameWidth, 'held on the lowest layer');
      assert.ok(encoded > 25, `the publisher keeps encoding: ${load}`);
      assert.ok(
        decoded >= encoded * 0.9 - 5,
        `decoding keeps up with the publisher: ${decoded} frames decoded in 5 s; ${load}`,
      );
      await ask(3);
      await waitFor(
        () => bob.statsFrom(alice.participantId),
        (s) => s !== undefined && s.frameWidth >= 640,
        'back to the upper layers',
        20_000,
      );
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });
});
