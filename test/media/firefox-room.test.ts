import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomId } from '../../src/lib/ids.ts';
import {
  BrowserParticipant,
  type ParticipantPage,
  type RemoteStats,
  waitFor,
  waitForEmptySfu,
} from '../support/chromium-participant.ts';
import { login, type RestCall, type TestUser } from '../support/clients.ts';
import { type Firefox, launchFirefox } from '../support/firefox.ts';
import { type Chromium, startMediaSuite, stopMediaSuite } from '../support/media-suite.ts';
import type { TestServer } from '../support/server.ts';

/**
 * Firefox ESR and Chromium in one room through the SFU, over the Waterbus socket protocol with the
 * same page script: the two browsers' SDP and RTP differ (Firefox lists its simulcast SSRCs, has no
 * H264, numbers its payload types and extensions its own way).
 */
describe('Firefox and Chromium in one room', { timeout: 180_000 }, () => {
  let server: TestServer;
  let call: RestCall;
  let chromium: Chromium;
  let firefox: Firefox;
  let fred: TestUser;
  let carl: TestUser;
  let dora: TestUser;

  before(async () => {
    ({ server, call, chromium } = await startMediaSuite());
    firefox = await launchFirefox();
    fred = await login(call, 'firefox-fred', 'Fred');
    carl = await login(call, 'chromium-carl', 'Carl');
    dora = await login(call, 'chromium-dora', 'Dora');
  });
  after(async () => {
    await firefox?.close();
    await stopMediaSuite(server, chromium);
  });

  /** A room Fred (Firefox), Carl and Dora (Chromium) joined over REST, with their participant ids. */
  async function joinRoom(title: string) {
    const room = await call<{ id: number; code: string }>('POST', '/rooms', {
      token: fred.token,
      body: { title },
    });
    const pid = async (user: TestUser) => {
      await call('GET', `/rooms/${room.body.code}`, { token: user.token });
      const res = await call<{ participants: Array<{ id: number; userId: number }> }>(
        'POST',
        `/rooms/${room.body.id}/join`,
        { token: user.token, body: {} },
      );
      return String(res.body.participants.find((p) => p.userId === user.id)!.id);
    };
    return {
      roomId: String(room.body.id),
      fredPid: await pid(fred),
      carlPid: await pid(carl),
      doraPid: await pid(dora),
    };
  }

  /** Until the SFU receives every track `participantId` announced (its media flows). */
  async function publishing(roomId: string, participantId: string): Promise<void> {
    await waitFor(
      () => server.sfu.inspectRoom(RoomId(roomId)),
      (room) =>
        room.participants.some(
          (p) => p.participantId === participantId && p.tracks.length === 2 && p.bitrateInBps > 0,
        ),
      `participant ${participantId} publishing`,
    );
  }

  /** Until `p` decodes video and plays audio from `from`, then how it went 2 s later. */
  async function decoding<P extends ParticipantPage>(
    p: BrowserParticipant<P>,
    from: string,
    what: string,
  ): Promise<{ first: RemoteStats; later: RemoteStats }> {
    const first = (await waitFor(
      () => p.statsFrom(from),
      (s) => s !== undefined && s.framesDecoded > 0 && s.audioPackets > 0,
      what,
      20_000,
    ))!;
    // Still decoding and hearing afterwards: 10 more frames and 50 more audio packets (a second of
    // Opus), however long a busy machine takes to show them in its stats (bounded).
    const later = (await waitFor(
      () => p.statsFrom(from),
      (s) =>
        s !== undefined &&
        s.framesDecoded > first.framesDecoded + 10 &&
        s.audioPackets > first.audioPackets + 50,
      `${what}, going on`,
      15_000,
    ))!;
    return { first, later };
  }

  type EnterOptions = Omit<
    Parameters<typeof BrowserParticipant.join<ParticipantPage>>[0],
    'baseUrl' | 'token' | 'context' | 'roomId' | 'participantId'
  >;

  /**
   * One test's room, Fred, Carl and Dora joined over REST; `enter` opens a user's participant page
   * in Firefox or in a Chromium context of the test, `close` closes them all.
   */
  async function openRoom(title: string) {
    const ids = await joinRoom(title);
    const context = await chromium.newContext();
    const people: Array<BrowserParticipant<ParticipantPage>> = [];
    const enter = async (
      user: TestUser,
      participantId: string,
      browser: 'firefox' | 'chromium',
      options: EnterOptions = {},
    ) => {
      const p = await BrowserParticipant.join<ParticipantPage>({
        baseUrl: server.baseUrl,
        token: user.token,
        context: browser === 'firefox' ? firefox : context,
        roomId: ids.roomId,
        participantId,
        ...options,
      });
      people.push(p);
      return p;
    };
    const close = async () => {
      for (const p of people) await p.close();
      await context.close();
    };
    return { ...ids, people, enter, close };
  }

  /** The SFU's id of the video track `participantId` publishes. */
  async function videoTrackOf(roomId: string, participantId: string) {
    const room = await server.sfu.inspectRoom(RoomId(roomId));
    return room.participants
      .find((p) => p.participantId === participantId)!
      .tracks.find((t) => t.kind === 'video')!;
  }

  it('VP8: Firefox and Chromium each decode the other’s video and hear the other’s audio, then the SFU ends empty', async () => {
    const room = await openRoom('Two browsers');
    const { roomId, fredPid, carlPid } = room;
    try {
      const fredP = await room.enter(fred, fredPid, 'firefox');
      await publishing(roomId, fredPid);
      const carlP = await room.enter(carl, carlPid, 'chromium');
      // Carl joined after Fred's media flowed: he subscribes to Fred himself (as after a REST join
      // listing Fred), Fred is told of Carl by room.new_participant.
      await carlP.subscribe(fredPid);

      const atCarl = await decoding(carlP, fredPid, 'Chromium decoding Firefox');
      const atFred = await decoding(fredP, carlPid, 'Firefox decoding Chromium');
      for (const [who, { first, later }] of [
        ['Chromium', atCarl],
        ['Firefox', atFred],
      ] as const) {
        assert.ok(
          later.framesDecoded > first.framesDecoded + 10,
          `${who} keeps decoding: ${JSON.stringify(later)}`,
        );
        assert.ok(
          later.audioPackets > first.audioPackets + 50,
          `${who} keeps hearing: ${JSON.stringify(later)}`,
        );
        assert.equal(later.codec.toLowerCase(), 'video/vp8', `${who} decodes VP8`);
        assert.ok(later.frameWidth > 0, `${who} knows the frame size`);
      }

      fredP.leave();
      await waitFor(async () => carlP.left.has(fredPid), Boolean, 'participant_left at Chromium');
      carlP.leave();
      await waitForEmptySfu(server.sfu, 10_000);
    } finally {
      await room.close();
    }
  });

  it('Firefox simulcast (q/h/f as the Waterbus SDK publishes, SSRCs listed, rids in its own extension id): Chromium decodes a layer above the lowest', async () => {
    const room = await openRoom('Firefox simulcast');
    const { roomId, fredPid, carlPid } = room;
    try {
      const fredP = await room.enter(fred, fredPid, 'firefox', {
        simulcast: true,
        width: 640,
        autoSubscribe: false,
      });
      await publishing(roomId, fredPid);
      const carlP = await room.enter(carl, carlPid, 'chromium');
      await carlP.subscribe(fredPid);
      const sent = await waitFor(
        () => fredP.sendingLayers(),
        (l) => l.widths.length >= 2,
        'Firefox sending two layers or more',
        20_000,
      );
      assert.deepEqual((await videoTrackOf(roomId, fredPid)).rids, ['q', 'h', 'f']);
      const stats = await waitFor(
        () => carlP.statsFrom(fredPid),
        (s) => s !== undefined && s.framesDecoded > 30 && s.frameWidth > sent.widths[0]!,
        `a layer above the lowest (${sent.widths.join('/')} sent) decoding`,
        20_000,
      );
      assert.equal(stats!.codec.toLowerCase(), 'video/vp8');
      fredP.leave();
      carlP.leave();
      await waitForEmptySfu(server.sfu, 10_000);
    } finally {
      await room.close();
    }
  });

  it('Chromium publishing H264: the Firefox subscriber (no H264) is told it cannot decode it and still hears it; a Chromium subscriber decodes H264; Chromium decodes Firefox', async () => {
    const room = await openRoom('H264 and Firefox');
    const { roomId, fredPid, carlPid, doraPid } = room;
    try {
      const carlP = await room.enter(carl, carlPid, 'chromium', { codec: 'H264' });
      await publishing(roomId, carlPid);
      const fredP = await room.enter(fred, fredPid, 'firefox');
      await fredP.subscribe(carlPid);
      const doraP = await room.enter(dora, doraPid, 'chromium', { autoSubscribe: false });
      await doraP.subscribe(carlPid);

      const told = await waitFor(
        async () => fredP.events.filter((e) => e.event === 'system.error').map((e) => e.payload),
        (errors) => errors.length > 0,
        'Firefox told of the H264 track',
      );
      assert.deepEqual(told, [
        {
          event: 'room.answer_subscriber',
          code: 'unsupported',
          message: `cannot decode video/H264 from participant ${carlPid}`,
          targetId: carlPid,
          trackId: (await videoTrackOf(roomId, carlPid)).trackId,
          kind: 'video',
          codec: 'video/H264',
        },
      ]);
      const atDora = await decoding(doraP, carlPid, 'Chromium decoding H264');
      assert.equal(atDora.later.codec.toLowerCase(), 'video/h264');
      assert.ok(atDora.later.framesDecoded > atDora.first.framesDecoded + 10, 'Chromium keeps decoding H264');
      const atFred = await waitFor(
        () => fredP.statsFrom(carlPid),
        (s) => s !== undefined && s.audioPackets > 50,
        'Firefox hearing the H264 publisher',
      );
      assert.equal(atFred!.framesDecoded, 0, 'no video at Firefox');
      const forwarded = await waitFor(
        async () => (await videoTrackOf(roomId, carlPid)).subscribers,
        (subs) => subs.length === 2,
        'two subscribers of the H264 track',
      );
      assert.deepEqual(
        forwarded.filter((s) => s.spatial >= 0).map((s) => s.participantId),
        [doraPid],
        'H264 forwarded to Chromium only',
      );
      const atCarl = await decoding(carlP, fredPid, 'Chromium decoding Firefox');
      assert.equal(atCarl.later.codec.toLowerCase(), 'video/vp8');
      // Nobody else was told anything.
      for (const p of [carlP, doraP])
        assert.deepEqual(
          p.events.filter((e) => e.event === 'system.error'),
          [],
        );

      for (const p of room.people) p.leave();
      await waitForEmptySfu(server.sfu, 10_000);
    } finally {
      await room.close();
    }
  });
});
