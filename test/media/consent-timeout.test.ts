import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, nextEvent, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/** Short enough for a test, long enough for Chromium's checks (every ≈2.5 s on a stable pair). */
const CONSENT_TIMEOUT_MS = 6000;
/** The endpoint looks for expired consent once a second; signalling then needs a moment. */
const NOTICE_SLACK_MS = 4000;

/**
 * A participant whose browser dies mid-call sends nothing more: no DTLS alert, no socket message
 * (its socket.io connection stays open, so nothing but the media path can notice). ICE consent
 * freshness, with the configured timeout, is what ends its connections and tells the room.
 */
describe('ICE consent timeout in a live call', { timeout: 180_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  const users: TestUser[] = [];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite({
      ICE_CONSENT_TIMEOUT_MS: String(CONSENT_TIMEOUT_MS),
    }));
    for (const name of ['ann', 'ben', 'cat']) users.push(await login(call, `consent-${name}`, name));
  });
  after(() => stopMediaSuite(server, chromium));

  it('a participant whose renderer crashes is dropped after the configured consent timeout; the others are told and keep their call', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Consent');
    // The one who vanishes gets a browser context (hence a renderer process) of its own.
    const shared = await chromium.newContext();
    const own = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      for (const [i, user] of users.entries()) {
        const p = await ChromiumParticipant.join({
          baseUrl: server.baseUrl,
          token: user.token,
          context: i === 2 ? own : shared,
          roomId,
          participantId: pids[i]!,
        });
        for (const earlier of people) await p.subscribe(earlier.participantId);
        people.push(p);
      }
      const [ann, ben, cat] = people as [ChromiumParticipant, ChromiumParticipant, ChromiumParticipant];
      for (const p of people) {
        for (const other of people.filter((o) => o !== p)) {
          await waitFor(
            () => p.statsFrom(other.participantId),
            (s) => (s?.framesDecoded ?? 0) > 10,
            `${p.participantId} decoding ${other.participantId}`,
            30_000,
          );
        }
      }
      const full = await server.sfu.dump();
      assert.equal(full.transports, 3 + 6, 'three publishers, six subscriptions');

      const annTold = nextEvent<{ targetId: string }>(
        ann.socket,
        'room.participant_left',
        CONSENT_TIMEOUT_MS + NOTICE_SLACK_MS + 3000,
        (m) => m.targetId === cat.participantId,
      );
      const benTold = nextEvent<{ targetId: string }>(
        ben.socket,
        'room.participant_left',
        CONSENT_TIMEOUT_MS + NOTICE_SLACK_MS + 3000,
        (m) => m.targetId === cat.participantId,
      );
      const catTold = nextEvent<{ event: string; code: string; message: string }>(
        cat.socket,
        'system.error',
        CONSENT_TIMEOUT_MS + NOTICE_SLACK_MS + 3000,
      );
      // Cat's renderer dies: every RTCPeerConnection of the page stops at once, without a word.
      const cdp = await own.newCDPSession(cat.page);
      // (The command itself never gets an answer: the target is gone.)
      void cdp.send('Page.crash').catch(() => undefined);
      const crashedAt = Date.now();
      await Promise.all([annTold, benTold]);
      const noticedAfterMs = Date.now() - crashedAt;
      const told = await catTold;
      assert.equal(told.code, 'unavailable');
      assert.match(told.message, /consent_timeout/, 'the socket still open is told why');
      // Consent was refreshed seconds before the crash: it is the timeout, not some alert, that ends it.
      assert.ok(
        noticedAfterMs >= CONSENT_TIMEOUT_MS / 2,
        `noticed ${noticedAfterMs} ms after the crash: consent must be given time`,
      );

      // Nothing of Cat is left in the SFU: Ann and Ben keep each other only.
      const dump = await waitFor(
        () => server.sfu.dump(),
        (d) => d.transports === 2 + 2,
        'cat’s publisher and subscriptions closed',
        5000,
      );
      assert.equal(dump.rooms.length, 1);
      assert.deepEqual(
        [...dump.rooms[0]!.participants].sort(),
        [ann.participantId, ben.participantId].sort(),
      );
      assert.equal(dump.rooms[0]!.publishers, 2);
      assert.equal(dump.rooms[0]!.subscriptions, 2);
      // Ann's and Ben's subscriptions to each other (audio + video each); those to Cat were
      // released with her connections, not left attached to the published tracks.
      assert.equal(dump.rooms[0]!.downTracks, 4);
      // The survivors' own connections were not touched by the short timeout.
      const before = (await ann.statsFrom(ben.participantId))!;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const later = (await ann.statsFrom(ben.participantId))!;
      assert.ok(later.framesDecoded > before.framesDecoded, 'ann still decodes ben');
      assert.equal(later.videoPacketsLost, 0);

      ann.leave();
      ben.leave();
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const p of people) {
        p.socket.close();
        await p.page.close().catch(() => undefined);
      }
      await shared.close();
      await own.close();
    }
  });
});
