// parseRemoteDescription on what real browsers write (test/fixtures/sdp), some of it edited:
// what it reads from a description and what it refuses.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCAL_TRANSPORT, sdpFixture } from '../../../test/support/sdp-fixtures.ts';
import { isSfuError } from '../../lib/errors.ts';
import { createPublisherAnswer, parseRemoteDescription } from './index.ts';

/** Descriptions captured from Chromium 156 and Firefox ESR 153 (test/fixtures/sdp): what real browsers send us. */
const fixture = sdpFixture;
const LOCAL = LOCAL_TRANSPORT;

describe('Parsing real Chromium offers, edited', () => {
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
});

describe('Parsing real Firefox descriptions', () => {
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
