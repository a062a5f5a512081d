/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

interface Recorded {
  event: string;
  payload: unknown;
  atMs: number;
}

interface Speakers {
  speakers: Array<{ participantId: string; level: number }>;
}
interface Quality {
  participantId: string;
  quality: string;
  score?: number;
}

describe('active speakers and connection quality with real Chromium participants', {
  timeout: 240_000,
}, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  const users: TestUser[] = [];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    for (const name of ['ann', 'ben', 'cat']) users.push(await login(call, `speaker-${name}`, name));
  });
  after(() => stopMediaSuite(server, chromium));

  it('everyone hears who speaks (room.active_speakers follows mute/unmute) and gets everyone’s quality', async () => {
    const { roomId, pids } = await roomWithParticipants(call, users, 'Speakers');
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    const events: Recorded[][] = [];
    try {
      // Ann's fake microphone plays its tone; Ben and Cat publish a disabled track (silence).
      for (const [i, user] of users.entries()) {
        const p = await ChromiumParticipant.join({
          baseUrl: server.baseUrl,
          token: user.token,
          context,
          roomId,
          participantId: pids[i]!,
          audioEnabled: i === 0,
        });
        events.push(p.events);
        for (const other of people) await p.subscribe(other.participantId);
        people.push(p);
      }
      const [ann, ben, cat] = people as [ChromiumParticipant, ChromiumParticipant, ChromiumParticipant];
      const speakerLists = (i: number) =>
        events[i]!.filter((e) => e.event === 'room.active_speakers').map((e) =>
          (e.payload as Speakers).speakers.map((s) => s.participantId),
        );

      for (const [i, p] of people.entries()) {
        await waitFor(
          async () => speakerLists(i),
          (lists) => lists.some((l) => l[0] === ann.participantId),
          `${p.participantId} told that ann speaks`,
          20_000,
        );
      }
      for (let i = 0; i < 3; i++) {
        for (const list of speakerLists(i)) {
          assert.ok(
            !list.includes(ben.participantId) && !list.includes(cat.participantId),
            `silent ones never named: ${list}`,
          );
        }
      }
      const payload = events[1]!.map((e) => e.payload as Speakers).find((p) => p.speakers?.length > 0)!;
      assert.ok(payload.speakers[0]!.level > 0 && payload.speakers[0]!.level <= 1, JSON.stringify(payload));

      // Ann mutes, Ben unmutes: Ben first, then Ann gone.
      const marks = events.map((e) => e.length);
      await ann.setAudioEnabled(false);
      await ben.setAudioEnabled(true);
      for (const [i, p] of people.entries()) {
        const since = () =>
          events[i]!.slice(marks[i])
            .filter((e) => e.event === 'room.active_speakers')
            .map((e) => (e.payload as Speakers).speakers.map((s) => s.participantId));
        const lists = await waitFor(
          async () => since(),
          (l) => l.length > 0 && l.at(-1)!.join() === ben.participantId,
          `${p.participantId} told that ben speaks, and only ben`,
          20_000,
        );
        assert.ok(
          lists.every((l) => !l.includes(cat.participantId)),
          `cat stays silent: ${JSON.stringify(lists)}`,
        );
      }
      // Throttled: at most one report per 400 ms at the server. Judged as a count over the whole
      // span, since a busy machine may deliver two socket messages close together.
      for (const e of events) {
        const times = e.filter((x) => x.event === 'room.active_speakers').map((x) => x.atMs);
        const spanMs = (times.at(-1) ?? 0) - (times[0] ?? 0);
        assert.ok(times.length <= 2 + spanMs / 400, `${times.length} reports in ${spanMs} ms: ${times}`);
      }

      // Connection quality: everyone learns everyone's (loopback: excellent or good).
      for (const [i, p] of people.entries()) {
        const qualities = await waitFor(
          async () => {
            const latest = new Map<string, string>();
            for (const e of events[i]!)
              if (e.event === 'room.connection_quality') {
                const q = e.payload as Quality;
                latest.set(String(q.participantId), q.quality);
              }
            return Object.fromEntries(latest);
          },
          (q) => people.every((o) => q[o.participantId] !== undefined),
          `${p.participantId} told the quality of all three`,
          20_000,
        );
        for (const o of people) assert.match(qualities[o.participantId]!, /^(excellent|good)$/);
      }
      const q = events[0]!.find((e) => e.event === 'room.connection_quality')!.payload as Quality;
      assert.ok(typeof q.score === 'number' && q.score > 60, JSON.stringify(q));

      // Cat's page dies (its socket stays): nothing arrives from her any more, she is 'lost'.
      await cat.page.close();
      for (const i of [0, 1]) {
        await waitFor(
          async () =>
            events[i]!.filter(
              (e) =>
                e.event === 'room.connection_quality' &&
                String((e.payload as Quality).participantId) === cat.participantId,
            ).at(-1)?.payload as Quality | undefined,
          (q) => q?.quality === 'lost',
          `${people[i]!.participantId} told that cat is lost`,
          15_000,
        );
      }
      for (const p of people) p.leave();
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const [i, e] of events.entries())
        if (process.env.BBMEET_TEST_DEBUG)
          console.log(
            i,
            JSON.stringify(
              e.filter((x) => x.event.startsWith('room.active') || x.event.startsWith('room.conn')),
            ),
          );
      for (const p of people) await p.close();
      await context.close();
    }
  });
});
