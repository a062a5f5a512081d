import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCAL_TRANSPORT, sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import { isSfuError } from '../../lib/errors.ts';
import {
  createPublisherAnswer,
  createSubscriberOffer,
  EXTENSION_URI,
  FORWARDED_EXTENSIONS,
  findCapability,
  parseRemoteDescription,
  parseSubscriberAnswer,
} from './index.ts';

/** Offers captured from Chromium 156 (test/fixtures/sdp): what real browsers send us. */
const fixture = sdpFixture;
const LOCAL = LOCAL_TRANSPORT;

describe('SDP negotiation with real Chromium offers', () => {
  it('simulcast offer: video with rids ordered q < h < f, audio Opus, data channel accepted', () => {
    const offer = parseRemoteDescription(fixture('publisher-simulcast'));
    const { sdp, tracks, dataChannels } = createPublisherAnswer(offer, LOCAL);
    const video = tracks.find((t) => t.kind === 'video')!;
    assert.deepEqual(video.rids, ['q', 'h', 'f']);
    const application = offer.media.find((m) => m.kind === 'application')!;
    assert.deepEqual(dataChannels, {
      mid: application.mid,
      remotePort: 5000,
      maxMessageSize: application.maxMessageSize,
    });
    assert.equal(video.codec.mimeType, 'video/VP8');
    assert.ok(video.headerExtensions.some((e) => e.uri.endsWith('sdes:mid')));
    assert.ok(video.headerExtensions.some((e) => e.uri.endsWith('rtp-stream-id')));
    assert.equal(tracks.find((t) => t.kind === 'audio')?.codec.mimeType, 'audio/opus');
    assert.match(sdp, /a=simulcast:recv [qhf;]+\r\n/);
    assert.match(sdp, /a=ice-lite\r\n/);
    assert.match(sdp, /a=setup:passive\r\n/);
    assert.match(sdp, /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel\r\n/, 'data channels accepted');
    assert.match(sdp, /a=sctp-port:5000\r\na=max-message-size:262144\r\n/);
    assert.match(sdp, new RegExp(`a=group:BUNDLE .*\\b${application.mid}\\b`), 'bundled with the media');
    assert.match(sdp, /a=rtcp-fb:96 transport-cc\r\n/, 'the SFU sends transport-cc feedback');
    assert.match(
      sdp,
      /a=extmap:3 http:\/\/www.ietf.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/,
    );
    assert.match(sdp, /a=rtcp-fb:96 goog-remb\r\n/, 'and REMB, as a ceiling');
    // Our answer parses back: same mids, rtcp-mux, our credentials.
    const back = parseRemoteDescription(sdp);
    assert.deepEqual(
      back.media.map((m) => m.mid),
      offer.media.map((m) => m.mid),
    );
    assert.equal(back.iceUfrag, LOCAL.iceUfrag);
  });

  it('codec preferences: H264-only and VP9-only offers get that codec (H264 with packetization-mode 1)', () => {
    const h264 = createPublisherAnswer(parseRemoteDescription(fixture('publisher-h264-only')), LOCAL);
    const v = h264.tracks.find((t) => t.kind === 'video')!;
    assert.equal(v.codec.mimeType, 'video/H264');
    assert.equal(Number(v.codec.fmtp['packetization-mode']), 1);
    const vp9 = createPublisherAnswer(parseRemoteDescription(fixture('publisher-vp9-only')), LOCAL);
    assert.equal(vp9.tracks.find((t) => t.kind === 'video')!.codec.mimeType, 'video/VP9');
  });

  it("tracks keep the publisher's msid: stream and track ids, audio and video in one stream", () => {
    const { tracks } = createPublisherAnswer(parseRemoteDescription(fixture('publisher-h264-only')), LOCAL);
    assert.deepEqual(
      tracks.map((t) => [t.kind, t.streamId, t.trackId]),
      [
        ['audio', '7f6a717a-440a-4855-abc2-1cac21924655', 'f3431345-1d49-4b99-9b4b-44f379ecea8b'],
        ['video', '7f6a717a-440a-4855-abc2-1cac21924655', 'ab43ad0c-0680-49c8-8cdc-3820de2a5237'],
      ],
    );
  });

  it('a single-layer offer names its SSRCs; a renegotiation keeps the mids and adds the screen track', () => {
    const single = createPublisherAnswer(parseRemoteDescription(fixture('publisher-single')), LOCAL);
    const video = single.tracks.find((t) => t.kind === 'video')!;
    assert.equal(video.rids.length, 0);
    assert.ok(video.ssrcs.length >= 1, 'media SSRC from a=ssrc (RTX SSRC of the FID group left out)');
    const first = createPublisherAnswer(parseRemoteDescription(fixture('publisher-simulcast')), LOCAL).tracks;
    const renegotiated = createPublisherAnswer(
      parseRemoteDescription(fixture('publisher-screenshare-renegotiation')),
      LOCAL,
    ).tracks;
    assert.ok(renegotiated.length > first.length, 'the screen track is a new section');
    for (const t of first)
      assert.ok(
        renegotiated.some((r) => r.mid === t.mid),
        `mid ${t.mid} kept`,
      );
  });

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

  it('an all-digit ICE ufrag and password stay strings (sdp-transform would make numbers of them)', () => {
    const good = fixture('publisher-single');
    const digits = good
      .replace(/a=ice-ufrag:.*\r\n/g, 'a=ice-ufrag:1234\r\n')
      .replace(/a=ice-pwd:.*\r\n/g, 'a=ice-pwd:0123456789012345678901\r\n');
    const desc = parseRemoteDescription(digits);
    assert.equal(desc.iceUfrag, '1234');
    assert.equal(desc.icePwd, '0123456789012345678901');
  });

  it('a BUNDLE group of one numeric mid (a single-track publish) is read, not refused', () => {
    const good = fixture('publisher-single');
    const mid = /a=mid:(\S+)/.exec(good)![1]!;
    // One media section, renamed to mid 0, bundled alone.
    const sections = good.split(/(?=\r\nm=)/);
    const single = `${sections[0]}${sections[1]!}\r\n`
      .replace(/a=group:BUNDLE .*\r\n/, 'a=group:BUNDLE 0\r\n')
      .replaceAll(`a=mid:${mid}\r\n`, 'a=mid:0\r\n');
    const desc = parseRemoteDescription(single);
    assert.deepEqual(desc.bundle, ['0']);
    assert.equal(desc.media[0]!.mid, '0');
  });

  it('an a=ssrc-group naming one SSRC (sdp-transform makes a number of it) is read, not a TypeError', () => {
    // Found by negotiation.fuzz.test.ts: `a=ssrc-group:FID 2` threw "group.ssrcs.split is not a function".
    const offer = fixture('publisher-single').replace(/a=ssrc-group:FID .*\r\n/, 'a=ssrc-group:FID 2\r\n');
    assert.match(offer, /a=ssrc-group:FID 2\r\n/);
    const desc = parseRemoteDescription(offer);
    const video = desc.media.find((m) => m.kind === 'video')!;
    assert.ok(video.ssrcs.length >= 1, 'the media SSRCs are still read');
    assert.ok(createPublisherAnswer(desc, LOCAL).sdp.startsWith('v=0'));
  });

  it('an a=fmtp whose parameters are one number (sdp-transform makes a number of it) is read, not a TypeError', () => {
    // Found by negotiation.fuzz.test.ts: `a=fmtp:111 1` threw "config.split is not a function".
    const offer = fixture('publisher-single').replace(/a=fmtp:111 .*\r\n/, 'a=fmtp:111 1\r\n');
    assert.match(offer, /a=fmtp:111 1\r\n/);
    const audio = parseRemoteDescription(offer).media.find((m) => m.kind === 'audio')!;
    assert.deepEqual(audio.codecs.find((c) => c.payloadType === 111)!.fmtp, {});
  });

  it('malformed descriptions are refused with invalid_argument naming the fault', () => {
    const good = fixture('publisher-single');
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['x'.repeat(200_000), /larger than/],
      [good.replace(/a=ice-ufrag:.*\r\n/g, ''), /ice-ufrag/],
      [good.replace(/a=fingerprint:.*\r\n/g, ''), /fingerprint/],
      [good.replace(/a=rtcp-mux\r\n/g, ''), /rtcp-mux/],
      [good.replace(/a=group:BUNDLE.*\r\n/, ''), /BUNDLE/],
    ];
    for (const [sdp, why] of cases) {
      assert.throws(
        () => parseRemoteDescription(sdp),
        (e) => isSfuError(e) && e.code === 'invalid_argument' && why.test(e.message),
        String(why),
      );
    }
  });

  it('data channel sections: only the first DTLS/SCTP webrtc-datachannel one is accepted, a refused one stays refused', () => {
    const good = fixture('publisher-single');
    const twice = good.replace(/(m=application[\s\S]*?)(?=m=|$)/, (section: string) => {
      const second = section.replace(/a=mid:(\S+)/, 'a=mid:dc2');
      return `${section}${second}`;
    });
    const offer = parseRemoteDescription(twice.replace(/(a=group:BUNDLE [^\r]*)/, '$1 dc2'));
    const answer = createPublisherAnswer(offer, LOCAL);
    assert.equal((answer.sdp.match(/m=application 9 /g) ?? []).length, 1);
    assert.match(answer.sdp, /m=application 0 [^\r]*\r\nc=IN IP4 0.0.0.0\r\na=mid:dc2/);
    const rejected = parseRemoteDescription(good.replace(/m=application 9 /, 'm=application 0 '));
    assert.equal(createPublisherAnswer(rejected, LOCAL).dataChannels, undefined);
    assert.match(createPublisherAnswer(rejected, LOCAL).sdp, /m=application 0 /);
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
});

describe('SDP negotiation with a real Firefox offer', () => {
  it('Firefox bundle-only audio (port 0 with a=bundle-only, max-bundle) is accepted, not refused', () => {
    // Firefox ESR 153, max-bundle, simulcast q/h/f: every section after the first is bundle-only.
    const sdp = fixture('firefox-simulcast-offer');
    assert.match(sdp, /m=audio 0 .*\r\nc=IN IP4 0\.0\.0\.0\r\na=bundle-only\r\n/);
    const offer = parseRemoteDescription(sdp);
    const audio = offer.media.find((m) => m.kind === 'audio')!;
    assert.equal(audio.port, 9);
    const answer = createPublisherAnswer(offer, LOCAL);
    assert.deepEqual(
      answer.tracks.map((t) => `${t.kind} ${t.codec.mimeType} ${t.codec.payloadType}`),
      ['video video/VP8 120', 'audio audio/opus 109'],
    );
    assert.match(answer.sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 109\r\n/);
    assert.match(answer.sdp, /a=group:BUNDLE 0 1\r\n/);
  });

  it('Firefox simulcast: rids q < h < f with its own extension ids (rid 9, repaired rid 10), SSRCs listed', () => {
    const offer = parseRemoteDescription(fixture('firefox-simulcast-offer'));
    const { sdp, tracks } = createPublisherAnswer(offer, LOCAL);
    const video = tracks.find((t) => t.kind === 'video')!;
    assert.deepEqual(video.rids, ['q', 'h', 'f']);
    assert.equal(video.ssrcs.length, 3, 'one media SSRC per layer, RTX left out');
    const ids = Object.fromEntries(video.headerExtensions.map((e) => [e.uri, e.id]));
    assert.equal(ids[EXTENSION_URI.rid], 9);
    assert.equal(ids['urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id'], 10);
    assert.equal(ids[EXTENSION_URI.mid], 3);
    assert.match(sdp, /a=simulcast:recv q;h;f\r\n/);
    assert.doesNotMatch(sdp, /playout-delay|toffset/, 'extensions we do not read are not answered');
  });

  it("Firefox's msid with braces ({uuid} {uuid}, unparsed by sdp-transform): audio and video keep their one stream", () => {
    const offer = parseRemoteDescription(fixture('firefox-simulcast-offer'));
    const [video, audio] = offer.media;
    assert.match(video!.msid!.streamId, /^\{[0-9a-f-]{36}\}$/);
    assert.match(video!.msid!.trackId, /^\{[0-9a-f-]{36}\}$/);
    assert.equal(audio!.msid!.streamId, video!.msid!.streamId, 'one stream: lip sync in the subscriber');
    assert.notEqual(audio!.msid!.trackId, video!.msid!.trackId);
    const { tracks } = createPublisherAnswer(offer, LOCAL);
    assert.equal(tracks[0]!.trackId, video!.msid!.trackId, 'not the mid');
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

  it('an answer rejecting its first section has its ICE credentials and fingerprint read from the next one, not refused', () => {
    const desc = parseRemoteDescription(fixture('firefox-answer-h264-refused'));
    assert.equal(desc.iceUfrag, '927aae94');
    assert.equal(desc.icePwd, '717afae34f433219369953ac6e5f59d4');
    assert.equal(desc.setup, 'active');
    assert.equal(desc.fingerprints[0]!.algorithm, 'sha-256');
  });

  it('a port-0 section with a=bundle-only outside the BUNDLE group stays refused', () => {
    const sdp = fixture('firefox-simulcast-offer').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0');
    const audio = parseRemoteDescription(sdp).media.find((m) => m.kind === 'audio')!;
    assert.equal(audio.port, 0);
  });
});

describe('Opus in-band FEC and RED (RFC 2198)', () => {
  /** The captured Chromium offer's audio section: `m=audio 9 UDP/TLS/RTP/SAVPF 111 63 …`. */
  const single = fixture('publisher-single');
  /**
   * HAND-EDITED from the captured publisher-single fixture (not a capture): red (63) moved first
   * in the audio m-line and its rtpmap/fmtp lines moved before Opus's, as a client that calls
   * setCodecPreferences([red, opus, …]) offers it.
   */
  const redFirst = single
    .replace('m=audio 9 UDP/TLS/RTP/SAVPF 111 63 ', 'm=audio 9 UDP/TLS/RTP/SAVPF 63 111 ')
    .replace(/(a=rtpmap:111 opus[\s\S]*?)(a=rtpmap:63 red\/48000\/2\r\na=fmtp:63 111\/111\r\n)/, '$2$1');

  it("Opus first (Chromium's default): Opus with useinbandfec=1 passes through, red is not answered", () => {
    assert.match(single, /a=rtpmap:63 red\/48000\/2\r\na=fmtp:63 111\/111\r\n/, 'the capture offers red');
    const { sdp, tracks } = createPublisherAnswer(parseRemoteDescription(single), LOCAL);
    const audio = tracks.find((t) => t.kind === 'audio')!;
    assert.equal(audio.codec.mimeType, 'audio/opus');
    assert.equal(audio.codec.fmtp.useinbandfec, 1, 'in-band FEC kept');
    assert.match(sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
    assert.match(sdp, /a=fmtp:111 [^\r]*useinbandfec=1/);
    assert.doesNotMatch(sdp, /red\/48000/);
  });

  it('red preferred by the publisher: red + Opus answered with 111/111, audio level kept', () => {
    assert.notEqual(redFirst, single, 'the edit applied');
    const { sdp, tracks } = createPublisherAnswer(parseRemoteDescription(redFirst), LOCAL);
    const audio = tracks.find((t) => t.kind === 'audio')!;
    assert.equal(audio.codec.mimeType.toLowerCase(), 'audio/red');
    assert.equal(audio.codec.payloadType, 63);
    assert.equal(audio.codec.redundantCodec?.payloadType, 111);
    assert.equal(audio.codec.redundantCodec?.fmtp.useinbandfec, 1, 'in-band FEC inside red kept');
    const section = sdp.slice(sdp.indexOf('m=audio'), sdp.indexOf('m=', sdp.indexOf('m=audio') + 1));
    assert.match(section, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 63 111\r\n/);
    assert.match(section, /a=rtpmap:63 red\/48000\/2\r\na=fmtp:63 111\/111\r\n/);
    assert.match(section, /a=rtpmap:111 opus\/48000\/2\r\na=fmtp:111 [^\r]*useinbandfec=1/);
    assert.match(section, /a=rtcp-fb:111 transport-cc/);
    // Active speaker reads the audio level extension, whatever the codec.
    assert.ok(audio.headerExtensions.some((e) => e.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'));
    assert.match(section, /a=extmap:\d+ urn:ietf:params:rtp-hdrext:ssrc-audio-level/);
  });

  it('red whose Opus has another payload type than ours is not kept (its blocks are forwarded as is)', () => {
    const other = redFirst.replace(/\b111\b/g, '112');
    const { tracks } = createPublisherAnswer(parseRemoteDescription(other), LOCAL);
    assert.equal(tracks.find((t) => t.kind === 'audio')!.codec.mimeType, 'audio/opus');
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

describe('AV1 dependency descriptor extension', () => {
  it('a Chromium offer keeps the DD extension (two-byte headers allowed); subscribers get it with our id 8', () => {
    const offer = parseRemoteDescription(fixture('publisher-simulcast'));
    assert.equal(offer.extmapAllowMixed, true, 'Chromium offers a=extmap-allow-mixed');
    const { sdp, tracks } = createPublisherAnswer(offer, LOCAL);
    assert.match(
      sdp,
      /a=extmap-allow-mixed\r\n/,
      'answered: a structure over 16 bytes needs the two-byte form',
    );
    const video = tracks.find((t) => t.kind === 'video')!;
    assert.ok(
      video.headerExtensions.some((e) => e.uri === EXTENSION_URI.dependencyDescriptor && e.id === 12),
    );
    assert.match(
      sdp,
      /a=extmap:12 https:\/\/aomediacodec\.github\.io\/av1-rtp-spec\/#dependency-descriptor-rtp-header-extension\r\n/,
    );
    assert.deepEqual(
      FORWARDED_EXTENSIONS.video.find((e) => e.uri === EXTENSION_URI.dependencyDescriptor),
      { uri: EXTENSION_URI.dependencyDescriptor, id: 8 },
    );
    const without = parseRemoteDescription(
      fixture('publisher-simulcast').replace(/a=extmap-allow-mixed\r\n/g, ''),
    );
    assert.equal(without.extmapAllowMixed, false);
    assert.doesNotMatch(createPublisherAnswer(without, LOCAL).sdp, /extmap-allow-mixed/, 'only when offered');
  });
});
