// The publisher's answer: what the SFU answers to a real browser's offer (test/fixtures/sdp), its
// tracks (codec, simulcast rids, SSRCs, msid, header extensions) and its data channel section.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCAL_TRANSPORT, sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import {
  createPublisherAnswer,
  EXTENSION_URI,
  FORWARDED_EXTENSIONS,
  parseRemoteDescription,
} from './index.ts';

/** Offers captured from Chromium 156 and Firefox ESR 153 (test/fixtures/sdp): what real browsers send us. */
const fixture = sdpFixture;
const LOCAL = LOCAL_TRANSPORT;

describe('Publisher answer to real Chromium offers', () => {
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
});

describe('Publisher answer to a real Firefox offer', () => {
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
