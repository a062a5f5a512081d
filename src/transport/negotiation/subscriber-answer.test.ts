import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCAL_TRANSPORT, sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import { isSfuError } from '../../lib/errors.ts';
import {
  type AnswerSource,
  createSubscriberAnswer,
  EXTENSION_URI,
  parseRemoteDescription,
  receiveCodecsOf,
} from './index.ts';

/** Recvonly audio + video offers as Chromium 156 and Firefox ESR 153 write them (test/fixtures/sdp). */
const fixture = sdpFixture;
const LOCAL = LOCAL_TRANSPORT;

/** The publisher's side as a Chromium publisher's answer left it (its own extension ids). */
const PUBLISHER_EXTENSIONS = [
  { uri: EXTENSION_URI.absSendTime, id: 2 },
  { uri: EXTENSION_URI.transportCc, id: 3 },
  { uri: EXTENSION_URI.audioLevel, id: 1 },
  { uri: EXTENSION_URI.videoOrientation, id: 13 },
  { uri: EXTENSION_URI.dependencyDescriptor, id: 12 },
];

function source(
  kind: 'audio' | 'video',
  mimeType: string,
  fmtp: AnswerSource['codec']['fmtp'] = {},
): AnswerSource {
  return {
    kind,
    trackId: `${kind}-track`,
    streamId: 'stream',
    codec: { mimeType, clockRate: kind === 'audio' ? 48_000 : 90_000, fmtp },
    headerExtensions: PUBLISHER_EXTENSIONS,
  };
}

const OPUS = source('audio', 'audio/opus', { minptime: 10, useinbandfec: 1 });
const VP8 = source('video', 'video/VP8');

function answer(offerName: string, sources: Partial<Record<'audio' | 'video', AnswerSource>>) {
  let next = 1000;
  return createSubscriberAnswer({
    offer: parseRemoteDescription(fixture(offerName)),
    local: LOCAL,
    sources,
    cname: 'bbmeet-7',
    ssrc: () => next++,
  });
}

function section(sdp: string, mid: string): string {
  const parts = sdp.split(/\r\n(?=m=)/);
  const found = parts.find((p) => p.includes(`\r\na=mid:${mid}\r\n`) || p.endsWith(`a=mid:${mid}`));
  assert.ok(found, `section ${mid} in the answer`);
  return found;
}

describe('createSubscriberAnswer (WHEP)', () => {
  it("Chromium's recvonly offer: the player's payload types, extension ids and mids, sendonly with SSRCs", () => {
    const { sdp, tracks } = answer('whep-chromium-recvonly', { audio: OPUS, video: VP8 });
    const video = tracks.find((t) => t.kind === 'video')!;
    const audio = tracks.find((t) => t.kind === 'audio')!;
    assert.equal(video.mid, '0');
    assert.equal(audio.mid, '1');
    assert.equal(video.codec.payloadType, 96);
    assert.equal(video.codec.rtxPayloadType, 97);
    assert.equal(video.ssrc, 1000);
    assert.equal(video.rtxSsrc, 1001);
    assert.equal(audio.codec.payloadType, 111);
    assert.deepEqual(
      video.headerExtensions.map((e) => [e.uri, e.id]),
      [
        [EXTENSION_URI.absSendTime, 2],
        [EXTENSION_URI.videoOrientation, 3],
        [EXTENSION_URI.transportCc, 4],
      ],
      'the player ids; no dependency descriptor for VP8',
    );
    assert.deepEqual(
      audio.headerExtensions.map((e) => [e.uri, e.id]),
      [
        [EXTENSION_URI.absSendTime, 2],
        [EXTENSION_URI.audioLevel, 14],
        [EXTENSION_URI.transportCc, 4],
      ],
    );
    const v = section(sdp, '0');
    assert.match(v, /^m=video 9 UDP\/TLS\/RTP\/SAVPF 96 97\r\n/);
    assert.match(v, /\r\na=sendonly\r\n/);
    assert.match(v, /\r\na=rtpmap:96 VP8\/90000\r\n/);
    assert.match(v, /\r\na=rtcp-fb:96 nack pli\r\n/);
    assert.match(v, /\r\na=fmtp:97 apt=96\r\n/);
    assert.match(v, /\r\na=ssrc-group:FID 1000 1001\r\n/);
    assert.match(v, /\r\na=ssrc:1000 cname:bbmeet-7\r\n/);
    assert.match(v, /\r\na=setup:passive\r\n/);
    assert.match(section(sdp, '1'), /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
    assert.match(sdp, /\r\na=group:BUNDLE 0 1\r\n/);
    assert.match(sdp, /\r\na=ice-lite\r\n/);
    assert.match(sdp, /\r\na=extmap-allow-mixed\r\n/);
    // The answer is a description a peer can parse: same mids in the same order.
    const back = parseRemoteDescription(sdp);
    assert.deepEqual(
      back.media.map((m) => [m.mid, m.direction]),
      [
        ['0', 'sendonly'],
        ['1', 'sendonly'],
      ],
    );
  });

  it("Firefox's recvonly offer: its Opus 109, VP8 120 with RTX 124, and its extension ids", () => {
    const { sdp, tracks } = answer('whep-firefox-recvonly', { audio: OPUS, video: VP8 });
    const audio = tracks.find((t) => t.kind === 'audio')!;
    const video = tracks.find((t) => t.kind === 'video')!;
    assert.equal(audio.mid, '0');
    assert.equal(audio.codec.payloadType, 109);
    assert.equal(audio.rtxSsrc, undefined);
    assert.deepEqual(audio.headerExtensions, [{ uri: EXTENSION_URI.audioLevel, id: 1 }]);
    assert.equal(video.codec.payloadType, 120);
    assert.equal(video.codec.rtxPayloadType, 124);
    assert.deepEqual(
      video.headerExtensions.map((e) => e.id),
      [4, 7],
      'abs-send-time 4, transport-cc 7 (Firefox offers no video orientation)',
    );
    assert.match(section(sdp, '1'), /^m=video 9 UDP\/TLS\/RTP\/SAVPF 120 124\r\n/);
    assert.doesNotMatch(sdp, /extmap-allow-mixed/, 'not offered, not answered');
  });

  it('H264: the player payload type with packetization-mode 1 and the publisher profile', () => {
    const h264 = source('video', 'video/H264', {
      'level-asymmetry-allowed': 1,
      'packetization-mode': 1,
      'profile-level-id': '42e01f',
    });
    const chromium = answer('whep-chromium-recvonly', { video: h264 }).tracks[0]!;
    assert.equal(chromium.codec.payloadType, 106);
    assert.equal(chromium.codec.rtxPayloadType, 107);
    const firefox = answer('whep-firefox-recvonly', { video: h264 }).tracks[0]!;
    assert.equal(firefox.codec.payloadType, 126, 'not 97: packetization-mode 0');
  });

  it('VP9 needs the same profile; AV1 keeps the dependency descriptor', () => {
    const vp9 = answer('whep-chromium-recvonly', {
      video: source('video', 'video/VP9', { 'profile-id': 2 }),
    });
    assert.equal(vp9.tracks[0]!.codec.payloadType, 100);
    const av1 = answer('whep-chromium-recvonly', { video: source('video', 'video/AV1') }).tracks[0]!;
    assert.equal(av1.codec.payloadType, 45);
    assert.ok(av1.headerExtensions.some((e) => e.uri === EXTENSION_URI.dependencyDescriptor && e.id === 12));
  });

  it("Opus RED: answered when the player's Opus has the publisher's inner payload type", () => {
    const red: AnswerSource = {
      ...OPUS,
      codec: { mimeType: 'audio/red', clockRate: 48_000, fmtp: {}, redundantCodec: { payloadType: 111 } },
    };
    const { sdp, tracks } = answer('whep-chromium-recvonly', { audio: red });
    assert.equal(tracks[0]!.codec.payloadType, 63);
    assert.equal(tracks[0]!.codec.redundantCodec?.payloadType, 111);
    assert.match(section(sdp, '1'), /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 63 111\r\n/);
    assert.match(sdp, /a=fmtp:63 111\/111\r\n/);
    // Firefox offers no RED: the audio section is refused, the offer has nothing else to take.
    assert.throws(
      () => answer('whep-firefox-recvonly', { audio: red }),
      (err) => isSfuError(err) && err.code === 'unsupported',
    );
  });

  it('extra sections are rejected with port 0; a kind the publisher does not send too', () => {
    const offer = fixture('whep-chromium-recvonly');
    const video = offer.slice(offer.indexOf('m=video'), offer.indexOf('m=audio'));
    const withExtra = `${offer.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 2')}${video.replace('a=mid:0', 'a=mid:2')}`;
    const { sdp, tracks } = createSubscriberAnswer({
      offer: parseRemoteDescription(withExtra),
      local: LOCAL,
      sources: { video: VP8 },
      cname: 'c',
    });
    assert.deepEqual(
      tracks.map((t) => t.mid),
      ['0'],
    );
    assert.match(section(sdp, '1'), /^m=audio 0 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
    assert.match(section(sdp, '2'), /^m=video 0 UDP\/TLS\/RTP\/SAVPF 96\r\n/);
    assert.match(sdp, /a=group:BUNDLE 0\r\n/);
  });

  it('an offer that receives nothing is invalid_argument; no shared codec is unsupported', () => {
    const sendonly = fixture('whep-chromium-recvonly').replaceAll('a=recvonly', 'a=sendonly');
    assert.throws(
      () =>
        createSubscriberAnswer({
          offer: parseRemoteDescription(sendonly),
          local: LOCAL,
          sources: { video: VP8 },
          cname: 'c',
        }),
      (err) =>
        isSfuError(err) && err.code === 'invalid_argument' && /no recvonly audio or video/.test(err.message),
    );
    const noVp8 = fixture('whep-firefox-recvonly')
      .replace(/a=rtpmap:120 VP8\/90000\r\n/, '')
      .replace(/ 120 124 /, ' ');
    assert.throws(
      () =>
        createSubscriberAnswer({
          offer: parseRemoteDescription(noVp8),
          local: LOCAL,
          sources: { video: VP8 },
          cname: 'c',
        }),
      (err) => isSfuError(err) && err.code === 'unsupported' && /video\/VP8/.test(err.message),
    );
    assert.throws(
      () => answer('whep-chromium-recvonly', {}),
      (err) => isSfuError(err) && err.code === 'not_found',
    );
  });

  it('malformed offers are refused by the parser', () => {
    for (const bad of ['', 'v=0\r\n', fixture('whep-chromium-recvonly').replace(/a=ice-ufrag:.*\r\n/g, '')]) {
      assert.throws(
        () =>
          createSubscriberAnswer({
            offer: parseRemoteDescription(bad),
            local: LOCAL,
            sources: { video: VP8 },
            cname: 'c',
          }),
        (err) => isSfuError(err) && err.code === 'invalid_argument',
      );
    }
  });

  it('transport-cc with different ids per section is kept on the first answered section only', () => {
    const offer = fixture('whep-chromium-recvonly').replace(
      /(a=mid:1\r\n[\s\S]*?)a=extmap:4 http:\/\/www.ietf.org/,
      '$1a=extmap:15 http://www.ietf.org',
    );
    const { tracks } = createSubscriberAnswer({
      offer: parseRemoteDescription(offer),
      local: LOCAL,
      sources: { audio: OPUS, video: VP8 },
      cname: 'c',
    });
    const audio = tracks.find((t) => t.kind === 'audio')!;
    assert.ok(!audio.headerExtensions.some((e) => e.uri === EXTENSION_URI.transportCc));
  });
  it("a viewer's receive codecs are read from its offer: those the SFU forwards, each once; none from a refused section", () => {
    assert.deepEqual(receiveCodecsOf(parseRemoteDescription(fixture('whep-chromium-recvonly'))).sort(), [
      'audio/opus',
      'audio/red',
      'video/AV1',
      'video/H264',
      'video/VP8',
      'video/VP9',
    ]);
    const noVideo = fixture('whep-firefox-recvonly').replace(/m=video 9 /, 'm=video 0 ');
    assert.deepEqual(receiveCodecsOf(parseRemoteDescription(noVideo)), ['audio/opus']);
  });
});
