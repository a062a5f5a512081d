/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromiumParticipant, waitFor, waitForEmptySfu } from '../support/chromium-participant.ts';
import { login, type RestCall, roomWithParticipants, type TestUser } from '../support/clients.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

describe('rooms of real Chromium participants through the SFU', { timeout: 240_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  const users: TestUser[] = [];

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    for (const name of ['ann', 'ben', 'cat']) users.push(await login(call, `room-${name}`, name));
  });
  after(() => stopMediaSuite(server, chromium));

  /** Until the participant's tracks reached the SFU (the REST join reply lists it as publishing). */
  async function waitForPublishing(roomId: string, code: string, participantId: string): Promise<void> {
    const outsider = await login(call, `watcher-${roomId}`, 'watcher');
    // The watcher is not a member: it opens the room by its code, which lets it join.
    await call('GET', `/rooms/${code}`, { token: outsider.token });
    await waitFor(
      async () => {
        const res = await call<{ participants: Array<{ id: number }> }>('GET', `/rooms/${roomId}`, {
          token: outsider.token,
        });
        return res.status;
      },
      () => true,
      'room',
    );
    await waitFor(
      async () => {
        const res = await call<{ participants: Array<{ id: number }> }>('POST', `/rooms/${roomId}/join`, {
          token: outsider.token,
          body: {},
        });
        return res.body.participants.map((p) => String(p.id));
      },
      (ids) => ids.includes(participantId),
      `participant ${participantId} publishing`,
    );
  }

  it('three participants each see the two others; one leaves; the others are told, close it, and the SFU ends empty', async () => {
    const room = await call<{ id: number; code: string }>('POST', '/rooms', {
      token: users[0]!.token,
      body: { title: 'Three' },
    });
    const roomId = String(room.body.id);
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
    try {
      for (const user of users) {
        // Join after the previous publisher's media flows (the REST reply then lists it); a client
        // joining earlier learns of it through room.new_participant instead.
        if (people.length > 0) await waitForPublishing(roomId, room.body.code, people.at(-1)!.participantId);
        // Join over REST now, as a client does right before publishing: the reply lists who publishes.
        await call('GET', `/rooms/${room.body.code}`, { token: user.token });
        const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
          'POST',
          `/rooms/${roomId}/join`,
          {
            token: user.token,
            body: {},
          },
        );
        const mine = String(res.body.participants.find((p) => p.userId === user.id)!.id);
        const publishing = res.body.participants.map((p) => String(p.id)).filter((id) => id !== mine);
        const p = await ChromiumParticipant.join({
          baseUrl: server.baseUrl,
          token: user.token,
          context,
          roomId,
          participantId: mine,
        });
        for (const target of publishing) await p.subscribe(target);
        people.push(p);
      }
      for (const p of people) {
        for (const other of people.filter((o) => o !== p)) {
          await waitFor(
            () => p.statsFrom(other.participantId),
            (s) => s !== undefined && s.framesDecoded > 10 && s.audioPackets > 10,
            `${p.participantId} decoding ${other.participantId}`,
            30_000,
          );
        }
      }
      const [ann, ben, cat] = people as [ChromiumParticipant, ChromiumParticipant, ChromiumParticipant];
      ann.leave();
      await waitFor(
        async () => [ben.left.has(ann.participantId), cat.left.has(ann.participantId)],
        (v) => v.every(Boolean),
        'participant_left at both',
      );
      await waitFor(
        () => ben.openSubscriptions(),
        (ids) => !ids.includes(ann.participantId),
        'ben closed his connection to ann',
      );
      await waitFor(
        () => cat.openSubscriptions(),
        (ids) => !ids.includes(ann.participantId),
        'cat closed her connection to ann',
      );
      // Ben and Cat still see each other.
      const before = await ben.statsFrom(cat.participantId);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const afterLeave = await ben.statsFrom(cat.participantId);
      assert.ok(afterLeave!.framesDecoded > before!.framesDecoded, 'the remaining call goes on');
      const dump = await server.sfu.dump();
      assert.equal(dump.rooms.length, 1);
      assert.equal(dump.rooms[0]!.publishers, 2);
      assert.equal(dump.rooms[0]!.subscriptions, 2, 'ann’s subscriptions and those to ann are gone');
      ben.leave();
      cat.leave();
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });

  it('simulcast (q/h/f, as the Waterbus SDK publishes): the subscriber receives the top layer being sent', async (t) => {
    const { roomId, pids } = await roomWithParticipants(call, users.slice(0, 2), 'Simulcast');
    const context = await chromium.newContext();
    const people: ChromiumParticipant[] = [];
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
      const sub = await ChromiumParticipant.join({
        baseUrl: server.baseUrl,
        token: users[1]!.token,
        context,
        roomId,
        participantId: pids[1]!,
      });
      people.push(sub);
      await sub.subscribe(pub.participantId);
      // libwebrtc sends as many layers as the source size allows (three at 720p) once its
      // bandwidth estimate allows them. Its first probes usually lift the estimate within seconds;
      // on a busy machine they sometimes do not count (seen with two busy loops beside the test,
      // 1 run in 6), the estimate then grows 8 % a second from 300 kbps and the top layer may
      // take more than 20 s. Two layers still have a lowest and a top layer, which is what this
      // test is about.
      const sending = await waitFor(
        () => pub.sendingLayers(),
        (l) => l.widths.length === 3,
        'three layers sent',
        20_000,
      ).catch(async (err: unknown) => {
        const now = await pub.sendingLayers();
        if (now.widths.length < 2 || now.limitedBy === 'none') throw err;
        t.diagnostic(
          `two layers sent after 20 s, limited by ${now.limitedBy} (estimate ${now.estimateBps} bps)`,
        );
        return now;
      });
      const layers = sending.widths;
      const top = layers.at(-1)!;
      const stats = await waitFor(
        () => sub.statsFrom(pub.participantId),
        (s) => s !== undefined && s.framesDecoded > 30 && s.frameWidth === top,
        `the top layer (${top} wide) decoding`,
        30_000,
      );
      assert.ok(top > layers[0]!, `layers ${layers.join('/')}`);
      assert.equal(stats!.videoPacketsLost, 0);
      pub.leave();
      sub.leave();
      await waitForEmptySfu(server.sfu);
    } finally {
      for (const p of people) await p.close();
      await context.close();
    }
  });
});
