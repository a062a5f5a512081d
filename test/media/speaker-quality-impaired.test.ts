/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import type { ImpairedNetwork } from '../support/impairment.ts';
import { type Chromium, startImpairedMediaSuite, stopImpairedMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

interface Quality {
  participantId: string;
  quality: string;
  score: number;
}

/**
 * room.connection_quality under real loss: one participant's Chromium runs in a network namespace
 * whose incoming UDP loses 20 % (test/support/impairment.ts); its receiver reports say so and it
 * turns 'poor' for everyone, the other participant stays excellent/good; without loss it recovers.
 */
describe('connection quality of a participant on a lossy downlink', { timeout: 240_000 }, () => {
  let net: ImpairedNetwork;
  let server: TestServer;
  let call: RestCall;
  let local: Chromium;
  let impaired: Chromium;
  let impairedBaseUrl: string;
  const users: TestUser[] = [];

  before(async () => {
    ({ net, server, call, local, impaired, impairedBaseUrl } = await startImpairedMediaSuite());
    for (const name of ['near', 'far']) users.push(await login(call, `quality-${name}`, name));
  });
  after(() => stopImpairedMediaSuite({ net, server, local, impaired }));

  it('20 % loss towards one participant makes it poor for both; the other stays good; it recovers', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Quality');
    const localContext = await local.newContext();
    const impairedContext = await impaired.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      const near = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[0]!.token,
        context: localContext,
        roomId,
        participantId: pids[0]!,
      });
      people.push(near);
      const far = await ChromiumParticipant.join({
        baseUrl: impairedBaseUrl,
        token: users[1]!.token,
        context: impairedContext,
        roomId,
        participantId: pids[1]!,
      });
      people.push(far);
      await far.subscribe(near.participantId);
      const latest = (p: ChromiumParticipant, since = 0) => {
        const out: Record<string, Quality> = {};
        for (const e of p.events.slice(since))
          if (e.event === 'room.connection_quality') {
            const q = e.payload as Quality;
            out[String(q.participantId)] = q;
          }
        return out;
      };
      for (const p of people) {
        await waitFor(
          async () => latest(p),
          (q) => /^(excellent|good)$/.test(q[far.participantId]?.quality ?? ''),
          `${p.participantId}: far is fine before the loss`,
          20_000,
        );
      }
      await net.loss(20);
      for (const p of people) {
        await waitFor(
          async () => latest(p),
          (q) => q[far.participantId]?.quality === 'poor',
          `${p.participantId}: far turns poor`,
          20_000,
        );
      }
      const nearQuality = latest(near)[near.participantId];
      assert.match(
        nearQuality?.quality ?? '',
        /^(excellent|good)$/,
        `near is not affected: ${JSON.stringify(nearQuality)}`,
      );
      const poor = latest(near)[far.participantId]!;
      assert.ok(poor.score <= 60, JSON.stringify(poor));
      await net.clearLoss();
      for (const p of people) {
        await waitFor(
          async () => latest(p),
          (q) => /^(excellent|good)$/.test(q[far.participantId]?.quality ?? ''),
          `${p.participantId}: far recovers`,
          40_000,
        );
      }
    } finally {
      if (process.env.BBMEET_TEST_DEBUG)
        for (const p of people)
          console.log(
            p.participantId,
            JSON.stringify(
              p.events
                .filter((e) => e.event === 'room.connection_quality')
                .map((e) => [e.atMs % 100_000, e.payload]),
            ),
          );
      for (const p of people) await p.close().catch(() => undefined);
      await localContext.close();
      await impairedContext.close();
    }
  });
});
