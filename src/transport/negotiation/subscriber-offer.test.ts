// The subscriber's offer (the SFU offers, the subscriber answers): its sections, RTX, header
// extensions and data channel section across renegotiations, and what the answer accepts or refuses.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCAL_TRANSPORT, sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import { isSfuError } from '../../lib/errors.ts';
import { createSubscriberOffer, findCapability, parseSubscriberAnswer } from './index.ts';

/** Answers captured from Firefox ESR 153 (test/fixtures/sdp): what real browsers send us. */
const fixture = sdpFixture;
const LOCAL = LOCAL_TRANSPORT;

describe('Subscriber offer and its answer', () => {
  it('subscriber offer → Chromium-style answer is accepted; a mismatched answer is refused', () => {
    const vp8 = findCapability('video/VP8')!;
    const opus = findCapability('audio/opus')!;
    const { sdp, state } = createSubscriberOffer({
      local: LOCAL,
      tracks: [
        {
          kind: 'audio',
          trackId: 'a',
          streamId: 's',
          codec: opus,
          ssrc: 11,
          cname: 'c',
          headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 5 }],
        },
        {
          kind: 'video',
          trackId: 'v',
          streamId: 's',
          codec: vp8,
          ssrc: 22,
          rtxSsrc: 23,
          cname: 'c',
          headerExtensions: [{ uri: 'urn:3gpp:video-orientation', id: 6 }],
        },
      ],
    });
    assert.match(sdp, /a=setup:actpass/);
    assert.match(sdp, /a=ssrc:22 cname:c/);
    assert.match(sdp, /m=video 9 UDP\/TLS\/RTP\/SAVPF 96 97\r\n/, 'VP8 and its RTX');
    assert.match(sdp, /a=fmtp:97 apt=96/);
    assert.match(sdp, /a=ssrc-group:FID 22 23/);
    assert.match(sdp, /a=ssrc:23 cname:c/);
    assert.match(sdp, /a=extmap:5 urn:ietf:params:rtp-hdrext:ssrc-audio-level/);
    assert.match(sdp, /a=extmap:6 urn:3gpp:video-orientation/);
    const answer = sdp
      .replace(/a=sendonly/g, 'a=recvonly')
      .replace(/a=setup:actpass/g, 'a=setup:active')
      .replace(/a=ice-lite\r\n/, '');
    const accepted = parseSubscriberAnswer(answer, state);
    assert.equal(accepted.remote.setup, 'active');
    assert.deepEqual([...accepted.rtxSsrcs], [22], 'the answer kept RTX for the video');
    assert.deepEqual(
      [...accepted.acceptedExtensions].map(([ssrc, ids]) => [ssrc, [...ids]]),
      [
        [11, [5]],
        [22, [6]],
      ],
      'every offered extension the answer lists',
    );
    // Firefox answers transport-cc on video only: an extension left out of a section is not sent there.
    const noAudioLevel = answer.replace(/a=extmap:5 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n/, '');
    assert.deepEqual([...parseSubscriberAnswer(noAudioLevel, state).acceptedExtensions.get(11)!], []);
    assert.deepEqual([...parseSubscriberAnswer(noAudioLevel, state).acceptedExtensions.get(22)!], [6]);
    const withoutRtx = answer.replace(/ 96 97\r\n/, ' 96\r\n').replace(/a=(rtpmap|fmtp):97 .*\r\n/g, '');
    assert.equal(parseSubscriberAnswer(withoutRtx, state).rtxSsrcs.size, 0, 'no RTX where it was refused');
    const next = createSubscriberOffer({
      local: LOCAL,
      state,
      tracks: [
        {
          kind: 'video',
          trackId: 'screen',
          streamId: 's',
          codec: vp8,
          ssrc: 33,
          cname: 'c',
          headerExtensions: [],
        },
      ],
    });
    assert.deepEqual(
      next.state.sections.map((s) => s.mid),
      ['0', '1', '2'],
      'mids are stable, new sections go last',
    );
    assert.ok(next.state.version > state.version);
    assert.throws(
      () => parseSubscriberAnswer(answer, next.state),
      (e) => isSfuError(e) && e.code === 'invalid_argument',
    );
  });

  it('subscriber offer with a data channel section: mid dc stays in place across renegotiation, the answer decides', () => {
    const vp8 = { ...findCapability('video/VP8')!, fmtp: {} };
    const track = (trackId: string, ssrc: number) => ({
      kind: 'video' as const,
      trackId,
      streamId: 's',
      codec: vp8,
      ssrc,
      cname: 'c',
      headerExtensions: [],
    });
    const first = createSubscriberOffer({ local: LOCAL, tracks: [track('v', 11)], dataChannels: true });
    assert.match(first.sdp, /a=group:BUNDLE 0 dc\r\n/);
    assert.match(
      first.sdp,
      /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:dc\r\n[\s\S]*a=setup:actpass\r\n[\s\S]*a=sctp-port:5000\r\na=max-message-size:262144\r\n/,
    );
    const next = createSubscriberOffer({ local: LOCAL, state: first.state, tracks: [track('w', 12)] });
    const mids = [...next.sdp.matchAll(/a=mid:(\S+)/g)].map((m) => m[1]);
    assert.deepEqual(mids, ['0', 'dc', '1'], 'the data section keeps its place, new tracks go last');
    assert.match(next.sdp, /a=group:BUNDLE 0 dc 1\r\n/);
    const answer = next.sdp
      .replace(/a=sendonly/g, 'a=recvonly')
      .replace(/a=setup:actpass/g, 'a=setup:active')
      .replace(/a=ice-lite\r\n/, '')
      .replace(/a=max-message-size:262144/, 'a=max-message-size:65536');
    assert.deepEqual(parseSubscriberAnswer(answer, next.state).dataChannels, {
      mid: 'dc',
      remotePort: 5000,
      maxMessageSize: 65_536,
    });
    const refused = answer.replace('m=application 9 ', 'm=application 0 ');
    assert.equal(parseSubscriberAnswer(refused, next.state).dataChannels, undefined);
    const reordered = answer.replace('a=mid:dc', 'a=mid:xx');
    assert.throws(
      () => parseSubscriberAnswer(reordered, next.state),
      (e) => isSfuError(e),
    );
    const none = createSubscriberOffer({ local: LOCAL, tracks: [track('v', 11)] });
    assert.doesNotMatch(none.sdp, /m=application/, 'only when asked');
  });

  it("Firefox without H264 refuses our H264 video section: the answer's receive codecs and the refused track say so", () => {
    const track = (kind: 'audio' | 'video', mimeType: string, ssrc: number) => {
      const codec = findCapability(mimeType)!;
      const rtxSsrc = codec.rtxPayloadType === undefined ? undefined : ssrc + 1;
      return {
        kind,
        trackId: `t-${kind}`,
        streamId: 's',
        codec,
        ssrc,
        rtxSsrc,
        cname: 'c',
        headerExtensions: [],
      };
    };
    const { state } = createSubscriberOffer({
      local: LOCAL,
      tracks: [track('video', 'video/H264', 1000), track('audio', 'audio/opus', 2000)],
      dataChannels: true,
    });
    // Firefox ESR 153's answer to that offer: m=video 0 (inactive), audio and data channels kept.
    const answer = parseSubscriberAnswer(fixture('firefox-answer-h264-refused'), state);
    assert.deepEqual(answer.receiveCodecs, ['audio/opus']);
    assert.deepEqual(answer.refused, [
      { mid: '0', kind: 'video', trackId: 't-video', mimeType: 'video/H264' },
    ]);
    assert.ok(answer.dataChannels, 'the data channel section is kept');
  });

  it('subscribers are offered red + Opus with the same payload types and fmtp', () => {
    const red = findCapability('audio/red')!;
    const { sdp } = createSubscriberOffer({
      local: LOCAL,
      tracks: [
        {
          kind: 'audio',
          trackId: 'a',
          streamId: 's',
          codec: red,
          ssrc: 11,
          cname: 'c',
          headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 5 }],
        },
      ],
    });
    assert.match(sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 63 111\r\n/);
    assert.match(sdp, /a=rtpmap:63 red\/48000\/2\r\na=fmtp:63 111\/111\r\n/);
    assert.match(sdp, /a=rtpmap:111 opus\/48000\/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n/);
    assert.match(sdp, /a=extmap:5 urn:ietf:params:rtp-hdrext:ssrc-audio-level/);
    // Opus alone is offered as before.
    const opus = createSubscriberOffer({
      local: LOCAL,
      tracks: [
        {
          kind: 'audio',
          trackId: 'a',
          streamId: 's',
          codec: findCapability('audio/opus')!,
          ssrc: 11,
          cname: 'c',
          headerExtensions: [],
        },
      ],
    });
    assert.match(opus.sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
    assert.match(opus.sdp, /a=fmtp:111 minptime=10;useinbandfec=1\r\n/);
  });
});
