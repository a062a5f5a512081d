import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, nextEvent, type RestCall, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/**
 * Real Chromium publishes camera + microphone through the SFU over the Waterbus socket protocol,
 * and a second Chromium page subscribes and decodes, for each video codec.
 */
describe('SFU with real Chromium peers', { timeout: 180_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    alice = await login(call, 'media-alice', 'Alice');
    bob = await login(call, 'media-bob', 'Bob');
  });
  after(() => stopMediaSuite(server, chromium));

  async function joinRoom() {
    const room = await call<{ id: number; code: string }>('POST', '/rooms', {
      token: alice.token,
      body: { title: 'Media' },
    });
    const pid = async (user: TestUser) => {
      await call('GET', `/rooms/${room.body.code}`, { token: user.token });
      const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
        'POST',
        `/rooms/${room.body.id}/join`,
        {
          token: user.token,
          body: {},
        },
      );
      return String(res.body.participants.find((p) => p.userId === user.id)!.id);
    };
    return { roomId: String(room.body.id), alicePid: await pid(alice), bobPid: await pid(bob) };
  }

  for (const codec of ['VP8', 'H264', 'VP9'] as const) {
    it(`${codec}: Chromium publishes, another Chromium subscribes and decodes at the publisher's frame rate`, async () => {
      const { roomId, alicePid, bobPid } = await joinRoom();
      const context = await chromium.newContext();
      const people: ChromiumParticipant[] = [];
      try {
        const bobP = await ChromiumParticipant.join({
          baseUrl: server.baseUrl,
          token: bob.token,
          context,
          roomId,
          participantId: bobPid,
          codec,
        });
        people.push(bobP);
        const announced = nextEvent<{ participant: { id: number } }>(
          bobP.socket,
          'room.new_participant',
          20_000,
        );
        const aliceP = await ChromiumParticipant.join({
          baseUrl: server.baseUrl,
          token: alice.token,
          context,
          roomId,
          participantId: alicePid,
          codec,
        });
        people.push(aliceP);
        assert.equal(
          (await announced).participant.id,
          Number(alicePid),
          'room.new_participant once all tracks arrive',
        );

        const first = await waitFor(
          () => bobP.statsFrom(alicePid),
          (s) => s !== undefined && s.framesDecoded > 0 && s.audioPackets > 0,
          'first decoded frame',
        );
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const later = (await bobP.statsFrom(alicePid))!;
        const fps = (later.framesDecoded - first!.framesDecoded) / 3;
        assert.ok(fps >= 15, `decoding at ${fps.toFixed(1)} fps (fake camera sends 30)`);
        assert.ok(later.audioPackets > first!.audioPackets, 'audio keeps arriving');
        assert.equal(later.videoPacketsLost, 0);
        assert.equal(later.audioPacketsLost, 0);
        assert.equal(later.codec.toUpperCase(), `VIDEO/${codec}`);

        // Alice leaves: Bob is told, and the SFU holds nothing for this room afterwards.
        aliceP.leave();
        await waitFor(async () => bobP.left.has(alicePid), Boolean, 'participant_left');
        bobP.leave();
        await waitForEmptySfu(server.sfu, 5000);
      } finally {
        for (const p of people) await p.close();
        await context.close();
      }
    });
  }
});
