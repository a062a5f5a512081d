import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { LocalTransportParameters } from '../transport/media-transport.ts';
import { createPublisherAnswer, parseRemoteDescription } from '../transport/negotiation/index.ts';
import { publishedTracks } from './published-tracks.ts';

/** Chromium's offers (test/fixtures/sdp) and the answers the SFU makes to them. */
const offer = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/sdp/${name}.sdp`, import.meta.url), 'utf8').replace(
    /\r?\n/g,
    '\r\n',
  );
const LOCAL: LocalTransportParameters = {
  iceUfrag: 'srvU',
  icePwd: 'server-password-0123456789',
  iceLite: true,
  fingerprint: { algorithm: 'sha-256', value: 'AB:'.repeat(31).concat('AB') },
  candidates: [],
};
const answerTo = (sdp: string) => createPublisherAnswer(parseRemoteDescription(sdp), LOCAL).sdp;

describe('publishedTracks', () => {
  it('reads kind, source, track id, mid and the negotiated codec of each sent track (no data channel)', () => {
    const sdp = offer('publisher-single');
    assert.deepEqual(publishedTracks(sdp, answerTo(sdp), null), [
      {
        kind: 'audio',
        source: 'microphone',
        trackId: '1c36a3ad-9894-4203-a111-46e88940999e',
        mid: '0',
        codec: 'audio/opus',
      },
      {
        kind: 'video',
        source: 'camera',
        trackId: 'afbc3dfd-6486-4b04-8fe9-670b001889cc',
        mid: '1',
        codec: 'video/VP8',
      },
    ]);
  });

  it('names the codec the answer chose (H264) and the screen share by the media state', () => {
    const h264 = offer('publisher-h264-only');
    assert.equal(publishedTracks(h264, answerTo(h264), null)[1]?.codec, 'video/H264');
    const share = offer('publisher-screenshare-renegotiation');
    const tracks = publishedTracks(share, answerTo(share), 'dc911575-89c9-4f69-81ee-6b467c727628');
    assert.deepEqual(
      tracks.map((t) => [t.mid, t.source]),
      [
        ['0', 'microphone'],
        ['1', 'camera'],
        ['3', 'screen_share'],
      ],
    );
  });

  it('leaves out sections the client only receives and sections the answer refused', () => {
    const sdp = offer('publisher-single');
    const recvOnly = sdp.replace(/a=sendonly(?![\s\S]*a=sendonly)/, 'a=recvonly');
    assert.deepEqual(
      publishedTracks(recvOnly, answerTo(sdp), null).map((t) => t.mid),
      ['0'],
    );
    const refused = answerTo(sdp).replace(/m=video \d+/, 'm=video 0');
    assert.deepEqual(
      publishedTracks(sdp, refused, null).map((t) => t.mid),
      ['0'],
    );
  });
});
