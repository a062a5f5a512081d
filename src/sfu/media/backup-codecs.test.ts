import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../../test/fakes/manual-clock.ts';
import { joinRequest } from '../../../test/support/join-request.ts';
import { loopbackEndpoint, loopbackEngine } from '../../../test/support/media-engines.ts';
import {
  H264_CAMERA_TRACK_ID,
  h264WithBackupOffer,
  offeredVideo,
  sdpFixture,
} from '../../../test/support/sdp-fixtures.ts';
import { ParticipantId, RoomId } from '../../lib/ids.ts';
import { type BackupSection, defaultMediaState } from '../../protocol/sfu-api.ts';
import { generateDtlsCertificate } from '../../transport/dtls/dtls-certificate.ts';
import type { WebRtcTransport } from '../../transport/webrtc-transport.ts';
import type { MediaEngine } from './media-engine.ts';
import { type PublishedTrack, Publisher } from './publisher.ts';

describe('backup codecs: the SFU offers a VP8 backup to who cannot decode the camera', () => {
  const ROOM = RoomId('backup');
  const ALICE = ParticipantId('alice');
  const BOB = ParticipantId('bob');
  const FRED = ParticipantId('fred');
  let engine: MediaEngine;

  before(async () => {
    engine = loopbackEngine(await loopbackEndpoint(await generateDtlsCertificate()), () => undefined);
  });
  after(async () => {
    await engine.close();
  });

  const join = (participantId: ParticipantId, sdp: string, backupSections?: BackupSection[]) =>
    engine.join(joinRequest(ROOM, participantId, sdp, backupSections));
  const subscribe = (participantId: ParticipantId) =>
    engine.subscribe({ roomId: ROOM, participantId, targetId: ALICE });

  it('Firefox (no H264) is offered the VP8 backup under the camera’s id, Chromium the H264 camera', () => {
    const answer = join(ALICE, h264WithBackupOffer(), [{ mid: '3', primaryMid: '1' }]);
    assert.match(answer.sdp, /a=mid:3[\s\S]*VP8\/90000/, 'the backup section is answered in VP8');
    join(FRED, sdpFixture('firefox-simulcast-offer'));
    join(BOB, sdpFixture('publisher-simulcast'));

    const fred = subscribe(FRED);
    assert.deepEqual(offeredVideo(fred.offer), [{ codec: 'VP8', trackId: H264_CAMERA_TRACK_ID }]);
    assert.equal(fred.videoCodec, 'video/H264', 'the camera’s codec, as before');
    const bob = subscribe(BOB);
    assert.deepEqual(offeredVideo(bob.offer), [{ codec: 'H264', trackId: H264_CAMERA_TRACK_ID }]);

    const alice = engine.inspectRoom({ roomId: ROOM }).publishers.find((p) => p.participantId === ALICE)!;
    assert.deepEqual(
      alice.tracks.map((t) => [t.kind, t.codec]),
      [
        ['audio', 'audio/opus'],
        ['video', 'video/H264'],
      ],
      'the backup is not a camera of its own',
    );
  });

  it('without backupSections a second video section is a track of its own', () => {
    join(ALICE, h264WithBackupOffer());
    const alice = engine.inspectRoom({ roomId: ROOM }).publishers.find((p) => p.participantId === ALICE)!;
    assert.deepEqual(
      alice.tracks.map((t) => t.codec),
      ['audio/opus', 'video/H264', 'video/VP8'],
    );
  });
});

describe('backup codecs: demand', () => {
  /** A publisher with a camera in H264 (mid 1) and its VP8 backup (mid 3), on a fake transport. */
  function publisherWithBackup() {
    const transport = {
      state: 'connected',
      onRtp: null,
      onRtcp: null,
      sendRtp: () => undefined,
      sendRtcp: () => undefined,
      close: () => undefined,
      readArrivalUs: (out: Float64Array) => {
        out[0] = 0;
      },
    };
    const publisher = new Publisher({
      participantId: ParticipantId('alice'),
      transport: transport as unknown as WebRtcTransport,
      clock: new ManualClock(),
      mediaState: defaultMediaState(),
      totalTracks: 1,
      onReady: () => undefined,
    });
    const video = (mid: string, trackId: string, mimeType: string): PublishedTrack => ({
      mid,
      kind: 'video',
      trackId,
      streamId: 's',
      codec: { mimeType, payloadType: 96, clockRate: 90_000, fmtp: {} },
      ssrcs: [],
      rids: ['q', 'h', 'f'],
      headerExtensions: [],
    });
    const wanted: unknown[][] = [];
    publisher.onLayersWanted = (...args) => wanted.push(args);
    const [camera, backup] = publisher.addTracks(
      [video('1', 'cam', 'video/H264'), video('3', 'cam-copy', 'video/VP8')],
      new Map([['3', '1']]),
    );
    return { publisher, camera: camera!, backup: backup!, wanted };
  }

  it('the backup names its camera; the publisher hears of its first receiver and of its last leaving', () => {
    const { camera, backup, wanted } = publisherWithBackup();
    assert.equal(camera.backupOf, undefined);
    assert.equal(backup.backupOf, 'cam');
    backup.setSubscriberWish('fred', 2);
    assert.deepEqual(wanted.at(-1), ['cam', 3, 1, 'vp8'], 'wanted: track_quality naming the codec');
    backup.removeSubscriberWish('fred');
    assert.deepEqual(wanted.at(-1)?.slice(2), [0, 'vp8'], 'nobody receives it any more');
    camera.setSubscriberWish('bob', 2);
    assert.deepEqual(wanted.at(-1), ['cam', 3, 1, undefined], 'the camera’s own wishes name no codec');
  });

  it('a section cannot back up audio, another backup or itself', () => {
    const { publisher } = publisherWithBackup();
    const [again] = publisher.addTracks(
      [
        {
          mid: '4',
          kind: 'video',
          trackId: 'cam-copy-2',
          streamId: 's',
          codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90_000, fmtp: {} },
          ssrcs: [],
          rids: [],
          headerExtensions: [],
        },
      ],
      new Map([['4', '3']]),
    );
    assert.equal(again!.backupOf, undefined, 'mid 3 is itself a backup');
  });
});
