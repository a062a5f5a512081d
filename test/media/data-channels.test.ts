/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, type RestCall, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

interface LogEntry {
  on: string;
  label: string;
  data: string;
  binary: boolean;
  atMs: number;
}

const dcLog = (p: ChromiumParticipant) =>
  p.page.evaluate(() => (window as unknown as { dcLog: LogEntry[] }).dcLog);

/** Sends on one of the page's publisher-connection channels once it is open. */
async function sendOn(p: ChromiumParticipant, label: string, data: string, binary: boolean): Promise<void> {
  await waitFor(
    () =>
      p.page.evaluate(
        (label) => (window as unknown as { dc: Record<string, RTCDataChannel> }).dc[label]!.readyState,
        label,
      ),
    (s) => s === 'open',
    `${label} open`,
  );
  await p.page.evaluate(
    ({ label, data, binary }) => {
      const c = (window as unknown as { dc: Record<string, RTCDataChannel> }).dc[label]!;
      if (binary) c.send(new TextEncoder().encode(data));
      else c.send(data);
    },
    { label, data, binary },
  );
}

/**
 * Data channels through the SFU with real Chromium pages as Waterbus clients: SCTP over our DTLS
 * on publisher and subscriber connections, the room data relay, and `track_quality` both ways.
 */
describe('data channels with real Chromium peers', { timeout: 240_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  const users: TestUser[] = [];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    for (const name of ['Alice', 'Bob', 'Carol']) users.push(await login(call, `dc-${name}`, name));
  });
  after(() => stopMediaSuite(server, chromium));

  async function room(n: number): Promise<{ roomId: string; pids: string[] }> {
    const created = await call<{ id: number; code: string }>('POST', '/rooms', {
      token: users[0]!.token,
      body: { title: 'DC' },
    });
    const pids: string[] = [];
    for (const user of users.slice(0, n)) {
      await call('GET', `/rooms/${created.body.code}`, { token: user.token });
      const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
        'POST',
        `/rooms/${created.body.id}/join`,
        { token: user.token, body: {} },
      );
      pids.push(String(res.body.participants.find((p) => p.userId === user.id)!.id));
    }
    return { roomId: String(created.body.id), pids };
  }

  async function joinAll(roomId: string, pids: string[], simulcast: boolean) {
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    for (const [i, pid] of pids.entries()) {
      people.push(
        await ChromiumParticipant.join({
          baseUrl: server.baseUrl,
          token: users[i]!.token,
          context,
          roomId,
          participantId: pid,
          dataChannels: true,
          simulcast,
          width: simulcast ? 640 : 320,
        }),
      );
    }
    // Everyone receives everyone: the subscriber connections are up.
    for (const p of people) {
      for (const other of pids.filter((x) => x !== p.participantId)) {
        await p.subscribe(other);
        await waitFor(
          () => p.statsFrom(other),
          (s) => s !== undefined && s.framesDecoded > 0,
          `${p.participantId} decodes ${other}`,
          30_000,
        );
      }
    }
    return { context, people };
  }

  async function leaveAll(people: ChromiumParticipant[]) {
    for (const p of people) p.leave();
    await waitForEmptySfu(server.sfu);
  }

  it('room data: messages one participant sends on bbmeet-data (reliable) and bbmeet-data-lossy arrive at the two others with its id', async () => {
    const { roomId, pids } = await room(3);
    const { context, people } = await joinAll(roomId, pids, false);
    try {
      const [alice, bob, carol] = people as [ChromiumParticipant, ChromiumParticipant, ChromiumParticipant];
      await sendOn(alice, 'bbmeet-data', 'hello from alice', false);
      await sendOn(alice, 'bbmeet-data', 'binary from alice', true);
      await sendOn(bob, 'bbmeet-data-lossy', 'lossy from bob', false);
      for (const p of [bob, carol]) {
        const log = await waitFor(
          () => dcLog(p),
          (l) => l.filter((e) => e.label === 'bbmeet-data').length >= 2,
          `alice's messages at ${p.participantId}`,
        );
        const data = log.filter((e) => e.label === 'bbmeet-data');
        assert.deepEqual(JSON.parse(data.find((e) => !e.binary)!.data), {
          from: alice.participantId,
          data: 'hello from alice',
        });
        // Binary envelope: [1][id length][id][payload] (decoded as text by the page).
        const bin = data.find((e) => e.binary)!.data;
        assert.equal(bin.charCodeAt(0), 1);
        assert.equal(bin.charCodeAt(1), alice.participantId.length);
        assert.equal(bin.slice(2), `${alice.participantId}binary from alice`);
      }
      for (const p of [alice, carol]) {
        const log = await waitFor(
          () => dcLog(p),
          (l) => l.some((e) => e.label === 'bbmeet-data-lossy'),
          `bob's lossy message at ${p.participantId}`,
        );
        assert.deepEqual(JSON.parse(log.find((e) => e.label === 'bbmeet-data-lossy')!.data), {
          from: bob.participantId,
          data: 'lossy from bob',
        });
      }
      // The sender gets none of its own messages back.
      assert.ok(!(await dcLog(alice)).some((e) => e.label === 'bbmeet-data'));
      await leaveAll(people);
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });

  it('track_quality: the publisher hears each dynacast change once with a number quality; a subscriber request for quality 1 then 0 reaches Subscription.setPreferredQuality', async () => {
    const { roomId, pids } = await room(2);
    const { context, people } = await joinAll(roomId, pids, true);
    try {
      const [alice, bob] = people as [ChromiumParticipant, ChromiumParticipant];
      const videoTrackId = await alice.page.evaluate(
        () =>
          (window as unknown as { pc: RTCPeerConnection }).pc
            .getSenders()
            .find((s) => s.track?.kind === 'video')!.track!.id,
      );
      const qualities = async () =>
        (await dcLog(alice))
          .filter((e) => e.on === 'pub' && e.label === 'track_quality')
          .map((e) => ({ ...JSON.parse(e.data), binary: e.binary }) as Record<string, unknown>);
      await waitFor(
        qualities,
        (q) => q.some((m) => m.trackId === videoTrackId && (m.subscribedCount as number) >= 1),
        'a track_quality message naming a subscriber',
        20_000,
      );
      const request = async (quality: number) => {
        await waitFor(
          () =>
            bob.page.evaluate(
              (id) => (window as unknown as { subDc: Record<string, RTCDataChannel> }).subDc[id]!.readyState,
              alice.participantId,
            ),
          (s) => s === 'open',
          "bob's track_quality channel open",
        );
        await bob.page.evaluate(
          ({ id, msg }) => {
            const c = (window as unknown as { subDc: Record<string, RTCDataChannel> }).subDc[id]!;
            c.send('not json');
            c.send(new TextEncoder().encode(JSON.stringify({ trackId: msg.trackId, quality: 7 })));
            c.send(new TextEncoder().encode(JSON.stringify(msg)));
          },
          { id: alice.participantId, msg: { trackId: videoTrackId, quality } },
        );
      };
      await request(1);
      await waitFor(
        qualities,
        (q) => q.at(-1)?.quality === 1 && q.at(-1)?.subscribedCount === 1,
        'quality 1 after the request',
        20_000,
      );
      await request(0);
      const all = await waitFor(
        qualities,
        (q) => q.at(-1)?.quality === 0 && q.at(-1)?.subscribedCount === 0,
        'quality 0 (nobody wants it) after the pause request',
        20_000,
      );
      for (const m of all) {
        assert.equal(m.binary, true, 'binary messages of UTF-8 JSON');
        assert.equal(typeof m.trackId, 'string');
        assert.equal(typeof m.quality, 'number', 'never null');
        assert.ok([0, 1, 2, 3].includes(m.quality as number));
        assert.equal(typeof m.subscribedCount, 'number');
        assert.equal(typeof m.timestamp, 'number');
      }
      // Once per change: no message repeats the previous one for its track.
      const last = new Map<unknown, string>();
      for (const m of all) {
        const key = `${m.quality}/${m.subscribedCount}`;
        assert.notEqual(last.get(m.trackId), key, `a repeated track_quality ${JSON.stringify(m)}`);
        last.set(m.trackId, key);
      }
      await leaveAll(people);
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });
});

describe('data channels of a dead peer', { timeout: 120_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  const users: TestUser[] = [];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite({ ICE_CONSENT_TIMEOUT_MS: '6000' }));
    for (const name of ['Dan', 'Eve']) users.push(await login(call, `dc-dead-${name}`, name));
  });
  after(() => stopMediaSuite(server, chromium));

  it('a crashed page: its associations go with its transports at the consent timeout; the survivor keeps sending, the SFU ends empty', async () => {
    const created = await call<{ id: number; code: string }>('POST', '/rooms', {
      token: users[0]!.token,
      body: { title: 'DC' },
    });
    const pids: string[] = [];
    for (const user of users) {
      await call('GET', `/rooms/${created.body.code}`, { token: user.token });
      const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
        'POST',
        `/rooms/${created.body.id}/join`,
        { token: user.token, body: {} },
      );
      pids.push(String(res.body.participants.find((p) => p.userId === user.id)!.id));
    }
    const shared = await chromium.newContext();
    const own = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      for (const [i, user] of users.entries()) {
        people.push(
          await ChromiumParticipant.join({
            baseUrl: server.baseUrl,
            token: user.token,
            context: i === 1 ? own : shared,
            roomId: String(created.body.id),
            participantId: pids[i]!,
            dataChannels: true,
          }),
        );
      }
      const [dan, eve] = people as [ChromiumParticipant, ChromiumParticipant];
      await dan.subscribe(eve.participantId);
      await eve.subscribe(dan.participantId);
      await sendOn(dan, 'bbmeet-data', 'before', false);
      await waitFor(
        () => dcLog(eve),
        (l) => l.some((e) => e.label === 'bbmeet-data'),
        'a message at eve',
      );
      assert.equal((await server.sfu.dump()).transports, 4);
      const cdp = await own.newCDPSession(eve.page);
      void cdp.send('Page.crash').catch(() => undefined);
      await waitFor(
        () => server.sfu.dump(),
        (d) => d.transports === 1,
        "eve's publisher and both subscriptions closed",
        20_000,
      );
      await sendOn(dan, 'bbmeet-data', 'after', false);
      dan.leave();
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const p of people) await p.close().catch(() => undefined);
      await shared.close();
      await own.close();
    }
  });
});
