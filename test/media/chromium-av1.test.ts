import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, nextEvent, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/**
 * AV1 through the SFU: a Chromium publisher that prefers AV1, a Chromium subscriber that decodes
 * it. The SFU forwards to a new subscriber from a keyframe on (the N bit of the AV1 aggregation
 * header) and forwards only the header extensions it maps (audio level, video orientation,
 * abs-send-time, transport-cc): the dependency descriptor is blanked, so the receiver must cope
 * with plain AV1 packets.
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
});
