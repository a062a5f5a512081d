import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answerFragment,
  iceCredentials,
  isSdp,
  mediaKinds,
  mediaMids,
  parseIceFragment,
  restartOffer,
} from './whip-sdp.ts';

const OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=ice-ufrag:oldU',
  'a=ice-pwd:oldPasswordOldPassword',
  'a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host',
  'a=sendonly',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:1',
  'a=ice-ufrag:oldU',
  'a=ice-pwd:oldPasswordOldPassword',
  'a=sendonly',
  '',
].join('\r\n');

describe('whip-sdp', () => {
  it('isSdp() accepts a description and refuses other text', () => {
    assert.equal(isSdp(OFFER), true);
    assert.equal(isSdp('{"sdp":"v=0"}'), false);
    assert.equal(isSdp(''), false);
  });

  it('parseIceFragment() reads credentials, candidates with their mid, and the end of candidates', () => {
    const fragment = parseIceFragment(
      'a=ice-ufrag:U1\r\na=ice-pwd:P1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n' +
        'a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n',
    );
    assert.deepEqual(fragment, {
      credentials: { ufrag: 'U1', pwd: 'P1' },
      candidates: [{ candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', mid: '0' }],
      endOfCandidates: true,
    });
  });

  it('parseIceFragment() throws a TypeError on text that is no ICE fragment', () => {
    assert.throws(() => parseIceFragment('hello'), TypeError);
  });

  it('restartOffer() replaces every credential and drops the old candidates, keeping the rest', () => {
    const restarted = restartOffer(OFFER, { ufrag: 'newU', pwd: 'newPasswordNewPassword' });
    assert.deepEqual(iceCredentials(restarted), { ufrag: 'newU', pwd: 'newPasswordNewPassword' });
    assert.doesNotMatch(restarted, /oldU|oldPassword|a=candidate/);
    assert.deepEqual(mediaMids(restarted), ['0', '1']);
    assert.match(restarted, /\r\na=group:BUNDLE 0 1\r\n/);
  });

  it('answerFragment() carries ice-lite, credentials and the first section candidates', () => {
    const answer = [
      'v=0',
      'a=ice-lite',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=mid:0',
      'a=ice-ufrag:srvU',
      'a=ice-pwd:srvP',
      'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
      'a=end-of-candidates',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:1',
      'a=candidate:9 1 udp 1 127.0.0.1 40001 typ host',
      '',
    ].join('\r\n');
    assert.equal(
      answerFragment(answer),
      'a=ice-lite\r\na=ice-ufrag:srvU\r\na=ice-pwd:srvP\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n' +
        'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n',
    );
  });

  it('mediaKinds() tells what an offer sends and what an answer accepts', () => {
    assert.deepEqual(mediaKinds(OFFER, ['sendrecv', 'sendonly']), { audio: true, video: true });
    const rejectedVideo = 'v=0\r\nm=audio 9 X 111\r\na=recvonly\r\nm=video 0 X 96\r\na=inactive\r\n';
    assert.deepEqual(mediaKinds(rejectedVideo, ['sendrecv', 'recvonly']), { audio: true, video: false });
    assert.deepEqual(mediaKinds(rejectedVideo, ['sendrecv', 'sendonly']), { audio: false, video: false });
  });
});
