import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinRequest } from '../../../test/support/join-request.ts';
import { settle, twoEngines } from '../../../test/support/media-engines.ts';
import {
  H264_CAMERA_TRACK_ID,
  h264WithBackupOffer,
  offeredVideo,
  sdpFixture,
} from '../../../test/support/sdp-fixtures.ts';
import { ParticipantId, RoomId } from '../../lib/ids.ts';
import type { SfuEvent } from '../../protocol/sfu-api.ts';
import type { MediaEngine } from './media-engine.ts';
import type { RelayedPublisher } from './relay.ts';

const ROOM = RoomId('span-backup');
const ALICE = ParticipantId('alice');
const BOB = ParticipantId('bob');
const FRED = ParticipantId('fred');
const CAROL = ParticipantId('carol');

/**
 * A subscriber's answer to our offer that refuses its H264 sections (port 0, as Firefox without
 * its OpenH264 plugin answers) and accepts the rest.
 */
function answerRefusingH264(offer: string): string {
  const [session, ...sections] = offer.split(/\r\n(?=m=)/);
  const head = session!
    .split('\r\n')
    .filter((l) => l !== 'a=ice-lite')
    .map((l) => l.replace('a=setup:actpass', 'a=setup:active'));
  const body = sections.map((section) => {
    const lines = section.split('\r\n').filter((l) => l !== '');
    if (/^m=video/.test(lines[0]!) && /a=rtpmap:\d+ H264\//.test(section)) {
      const mid = lines.find((l) => l.startsWith('a=mid:'))!;
      const pt = lines[0]!.split(' ')[3];
      return [
        lines[0]!.replace(/^m=video \d+/, 'm=video 0').replace(/SAVPF .*/, `SAVPF ${pt}`),
        mid,
        'a=inactive',
      ];
    }
    return lines
      .filter((l) => !/^a=(ssrc|ssrc-group|msid|candidate|end-of-candidates)/.test(l))
      .map((l) =>
        l
          .replace('a=sendonly', 'a=recvonly')
          .replace('a=setup:actpass', 'a=setup:active')
          .replace(/a=ice-ufrag:.*/, 'a=ice-ufrag:subU')
          .replace(/a=ice-pwd:.*/, 'a=ice-pwd:subscriber-password-0123456789'),
      );
  });
  return `${[...head, ...body.flat()].join('\r\n')}\r\n`;
}

/**
 * Two media engines as two workers would run them (one thread, each on its own UDP port, joined by
 * a real MessageChannel): Alice on engine 0 publishes a camera in H264 with its VP8 backup; the
 * subscribers on engine 1 are offered what they would be offered on engine 0.
 */
describe('MediaEngine: a backup codec across two engines', () => {
  const events: Array<{ engine: number; event: SfuEvent }> = [];
  let engines: MediaEngine[];

  before(async () => {
    ({ engines } = await twoEngines((engine, event) => events.push({ engine, event })));
    const join = (engine: number, participantId: ParticipantId, sdp: string, backup?: boolean) =>
      engines[engine]!.run(
        'join',
        joinRequest(ROOM, participantId, sdp, backup ? [{ mid: '3', primaryMid: '1' }] : undefined),
      );
    await join(0, ALICE, h264WithBackupOffer(), true);
    // What each subscriber on engine 1 decodes is learnt from its own offer: Bob's Chromium lists
    // H264, Fred's Firefox (without its OpenH264 plugin) does not. Carol publishes nothing.
    await join(1, BOB, sdpFixture('publisher-simulcast'));
    await join(1, FRED, sdpFixture('firefox-simulcast-offer'));
  });
  after(async () => {
    for (const engine of engines) await engine.close();
  });

  const room = (engine: number) => engines[engine]!.dump().rooms.find((r) => r.roomId === ROOM);
  const describeAlice = async () =>
    (await engines[0]!.run('exportPublisher', { roomId: ROOM, participantId: ALICE })) as RelayedPublisher;

  /** `subscriber` (engine 1) subscribes to Alice (engine 0) as the pool does it. */
  async function subscribeAcross(subscriber: ParticipantId) {
    return (await engines[1]!.run('subscribe', {
      roomId: ROOM,
      participantId: subscriber,
      targetId: ALICE,
      remote: { fromWorker: 0, publisher: await describeAlice() },
    })) as { offer: string; videoCodec: string };
  }

  it('the publisher is described to the other engine with both video tracks, the backup naming its camera', async () => {
    const described = await describeAlice();
    assert.deepEqual(
      described.tracks.map((t) => [t.kind, t.codec.mimeType, t.backupOf]),
      [
        ['audio', 'audio/opus', undefined],
        ['video', 'video/H264', undefined],
        ['video', 'video/VP8', H264_CAMERA_TRACK_ID],
      ],
    );
  });

  it('a subscriber there who decodes the camera gets the camera; the backup is described but not relayed', async () => {
    const bob = await subscribeAcross(BOB);
    assert.deepEqual(offeredVideo(bob.offer), [{ codec: 'H264', trackId: H264_CAMERA_TRACK_ID }]);
    await settle(() => room(0)?.relays === 2);
    assert.equal(room(0)!.relays, 2, 'audio and camera: nobody on engine 1 is given the backup');
    assert.equal(room(1)!.remoteTracks, 3, 'the proxy holds the backup too');
  });

  it('a subscriber there who decodes only VP8 is offered the backup alone, under the camera’s id; its relay starts', async () => {
    const fred = await subscribeAcross(FRED);
    assert.deepEqual(offeredVideo(fred.offer), [{ codec: 'VP8', trackId: H264_CAMERA_TRACK_ID }]);
    assert.equal(fred.videoCodec, 'video/H264', 'the camera’s codec, as on the publisher’s engine');
    await settle(() => room(0)?.relays === 3);
    assert.equal(room(0)!.relays, 3, 'the backup is relayed now');
    assert.equal(room(1)!.downTracks, 4, 'Bob: audio + H264, Fred: audio + VP8');
  });

  it('the backup’s relay stops when its last receiver there leaves; the camera’s stays for Bob', async () => {
    await engines[1]!.run('leave', { roomId: ROOM, participantId: FRED });
    await settle(() => room(0)?.relays === 2);
    assert.equal(room(0)!.relays, 2);
    assert.equal(room(1)!.remoteTracks, 3, 'Bob still holds the proxy');
  });

  it('a subscriber there that refuses the camera in its answer is given the backup instead, relayed', async () => {
    events.length = 0;
    const carol = await subscribeAcross(CAROL);
    assert.deepEqual(
      offeredVideo(carol.offer),
      [{ codec: 'H264', trackId: H264_CAMERA_TRACK_ID }],
      'nothing is known of what Carol decodes: the camera',
    );
    const reply = (await engines[1]!.run('setSubscriberAnswer', {
      roomId: ROOM,
      participantId: CAROL,
      targetId: ALICE,
      sdp: answerRefusingH264(carol.offer),
    })) as { refusedTracks: unknown[] };
    assert.deepEqual(reply.refusedTracks, [], 'the refused camera was replaced, not reported unsupported');
    const offer = events.find((e) => e.event.type === 'subscriberOffer')?.event;
    assert.ok(offer?.type === 'subscriberOffer' && offer.participantId === CAROL, 'a new offer to Carol');
    assert.deepEqual(
      offeredVideo(offer.sdp).filter((v) => v.codec === 'VP8'),
      [{ codec: 'VP8', trackId: H264_CAMERA_TRACK_ID }],
      'the backup, under the camera’s id',
    );
    await settle(() => room(0)?.relays === 3);
    assert.equal(room(0)!.relays, 3, 'the backup is relayed for Carol');
  });

  it('everyone there leaving stops every relay and drops the proxy', async () => {
    await engines[1]!.run('leave', { roomId: ROOM, participantId: CAROL });
    await settle(() => room(0)?.relays === 2);
    assert.equal(room(0)!.relays, 2, 'Carol’s backup goes, Bob keeps the camera');
    await engines[1]!.run('leave', { roomId: ROOM, participantId: BOB });
    await settle(() => room(1) === undefined && room(0)?.relays === 0);
    assert.equal(room(1), undefined);
    assert.equal(room(0)!.relays, 0);
  });
});
