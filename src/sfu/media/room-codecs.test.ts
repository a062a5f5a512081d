import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCAL_TRANSPORT, sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import { ParticipantId } from '../../lib/ids.ts';
import { createPublisherAnswer, parseRemoteDescription } from '../../transport/negotiation/index.ts';
import { chooseRoomCodec, type DecodeProfile, RoomCodecs, roomVideoPicker } from './room-codecs.ts';

const CHROMIUM_H264_FIRST = ['video/H264', 'video/VP8', 'video/AV1', 'video/VP9'];
/** Firefox ESR without its OpenH264 plugin, from its publish offer. */
const FIREFOX: DecodeProfile = {
  decodes: new Set(['video/vp8', 'video/vp9', 'video/av1']),
  complete: true,
  lacks: new Set(),
};
/** Older Safari: H264 and VP8, no VP9 nor AV1. */
const SAFARI: DecodeProfile = {
  decodes: new Set(['video/h264', 'video/vp8']),
  complete: true,
  lacks: new Set(),
};
const CHROMIUM: DecodeProfile = {
  decodes: new Set(['video/vp8', 'video/h264', 'video/vp9', 'video/av1']),
  complete: true,
  lacks: new Set(),
};

describe('room codec policy: the choice', () => {
  it("nobody else present, or everyone decodes it: the publisher's first", () => {
    assert.equal(chooseRoomCodec(CHROMIUM_H264_FIRST, []), 'video/H264');
    assert.equal(chooseRoomCodec(CHROMIUM_H264_FIRST, [CHROMIUM, SAFARI]), 'video/H264');
  });

  it('a Firefox without H264 present: the next codec of the publisher’s order it decodes (VP8)', () => {
    assert.equal(chooseRoomCodec(CHROMIUM_H264_FIRST, [CHROMIUM, FIREFOX]), 'video/VP8');
  });

  it("the publisher's order is respected among the common codecs", () => {
    assert.equal(
      chooseRoomCodec(['video/H264', 'video/AV1', 'video/VP9', 'video/VP8'], [FIREFOX]),
      'video/AV1',
    );
    assert.equal(
      chooseRoomCodec(['video/AV1', 'video/VP9', 'video/H264', 'video/VP8'], [SAFARI]),
      'video/H264',
    );
    assert.equal(chooseRoomCodec(['video/AV1', 'video/H264', 'video/VP8'], [SAFARI, FIREFOX]), 'video/VP8');
  });

  it("no codec common to everyone: the publisher's first, as before", () => {
    const vp9Only: DecodeProfile = { decodes: new Set(['video/vp9']), complete: true, lacks: new Set() };
    assert.equal(chooseRoomCodec(['video/H264', 'video/VP8'], [vp9Only]), 'video/H264');
    assert.equal(
      chooseRoomCodec(['video/AV1', 'video/H264', 'video/VP8'], [SAFARI, FIREFOX, vp9Only]),
      'video/AV1',
    );
    assert.equal(chooseRoomCodec([], [FIREFOX]), undefined);
  });

  it('a participant known only from answers constrains only by what it refused', () => {
    const codecs = new RoomCodecs();
    const fox = ParticipantId('fox');
    codecs.learnAnswer(fox, ['video/VP8', 'audio/opus'], []);
    const [accepted] = codecs.profilesOf([fox], ParticipantId('pub'));
    assert.equal(chooseRoomCodec(CHROMIUM_H264_FIRST, [accepted!]), 'video/H264', 'not known to lack H264');
    codecs.learnAnswer(fox, [], ['video/H264']);
    const [refused] = codecs.profilesOf([fox], ParticipantId('pub'));
    assert.equal(chooseRoomCodec(CHROMIUM_H264_FIRST, [refused!]), 'video/VP8');
  });
});

describe('room codec policy: the room', () => {
  const fox = ParticipantId('fox');
  const pub = ParticipantId('pub');

  it("a publisher's offer is its whole list (video only, FEC and RTX left out); an offer without video says nothing", () => {
    const codecs = new RoomCodecs();
    codecs.learnOffer(fox, [
      'video/VP8',
      'video/rtx',
      'video/VP9',
      'video/AV1',
      'video/ulpfec',
      'video/red',
      'audio/opus',
    ]);
    assert.deepEqual(codecs.profilesOf([fox], pub), [
      { decodes: new Set(['video/vp8', 'video/vp9', 'video/av1']), complete: true, lacks: new Set() },
    ]);
    codecs.learnOffer(pub, ['audio/opus']);
    assert.deepEqual(codecs.profilesOf([pub], fox), []);
  });

  it('only participants present count, the publisher itself never; a participant forgotten counts no more', () => {
    const codecs = new RoomCodecs();
    codecs.learnOffer(fox, ['video/VP8']);
    codecs.learnOffer(pub, ['video/H264']);
    assert.equal(codecs.profilesOf([pub], pub).length, 0);
    assert.equal(codecs.profilesOf([pub, fox, fox], pub).length, 1);
    assert.equal(codecs.profilesOf([pub], fox).length, 1);
    codecs.forget(fox);
    assert.equal(codecs.profilesOf([pub, fox], pub).length, 0);
  });

  it('the picker: auto follows the room, publisher keeps the first, a section already sent keeps its codec', () => {
    const codecs = new RoomCodecs();
    codecs.learnOffer(fox, ['video/VP8', 'video/VP9', 'video/AV1']);
    const present = [fox, pub];
    const auto = roomVideoPicker({ policy: 'auto', codecs, present, publisherId: pub });
    assert.equal(auto('1', CHROMIUM_H264_FIRST), 'video/VP8');
    const publisher = roomVideoPicker({ policy: 'publisher', codecs, present, publisherId: pub });
    assert.equal(publisher('1', CHROMIUM_H264_FIRST), undefined);
    const current = new Map([['0', 'video/H264']]);
    const renegotiated = roomVideoPicker({ policy: 'auto', codecs, present, publisherId: pub, current });
    assert.equal(renegotiated('0', CHROMIUM_H264_FIRST), 'video/H264', 'subscribers were offered H264');
    assert.equal(renegotiated('2', CHROMIUM_H264_FIRST), 'video/VP8', 'a new section follows the room');
  });

  it("the publisher's answer carries the codec picked (H264 with packetization-mode 1), its payload types kept", () => {
    const offer = parseRemoteDescription(sdpFixture('publisher-single'));
    const seen: string[][] = [];
    const picked = createPublisherAnswer(offer, LOCAL_TRANSPORT, (_mid, candidates) => {
      seen.push(candidates);
      return 'video/h264';
    });
    assert.deepEqual(
      seen,
      [['video/VP8', 'video/H264', 'video/AV1', 'video/VP9']],
      'video only, publisher order',
    );
    const video = picked.tracks.find((t) => t.kind === 'video')!;
    assert.equal(video.codec.mimeType, 'video/H264');
    assert.equal(Number(video.codec.fmtp['packetization-mode']), 1);
    assert.match(
      picked.sdp,
      new RegExp(`m=video 9 \\S+ ${video.codec.payloadType} ${video.codec.rtxPayloadType}\\r\\n`),
    );
    assert.equal(picked.tracks.find((t) => t.kind === 'audio')!.codec.mimeType, 'audio/opus');
    const first = createPublisherAnswer(offer, LOCAL_TRANSPORT, () => undefined);
    assert.equal(first.tracks.find((t) => t.kind === 'video')!.codec.mimeType, 'video/VP8');
    const unknown = createPublisherAnswer(offer, LOCAL_TRANSPORT, () => 'video/H265');
    assert.equal(unknown.tracks.find((t) => t.kind === 'video')!.codec.mimeType, 'video/VP8');
  });
});
